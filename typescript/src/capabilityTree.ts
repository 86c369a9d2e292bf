/**
 * The capability tree: what a model can be asked to do, as a hierarchy of dotted paths.
 * `generation.text-generation` is the node `text-generation` under `generation`; nodes may carry
 * aliases (`chat`) and a deprecation. Mirrors the Python runtime's `CapabilityTree`, suggestions
 * included.
 */

import { getCloseMatches } from "./difflib.js";
import { UnknownCapability } from "./errors.js";

/** One node of the tree. */
export interface CapabilityNode {
  readonly path: string;
  readonly parent: string | null;
  readonly children: readonly string[];
  readonly description: string | null;
  readonly aliases: readonly string[];
  readonly deprecated: Readonly<Record<string, unknown>> | null;
  /** The last part of the path. */
  readonly name: string;
  /** 0 for a root. */
  readonly depth: number;
}

function leafOf(path: string): string {
  return path.slice(path.lastIndexOf(".") + 1);
}

/** The tree as a snapshot holds it: nodes by path, aliases, and the feature vocabulary. */
export class CapabilityTree {
  readonly nodes: ReadonlyMap<string, CapabilityNode>;
  readonly aliases: ReadonlyMap<string, string>;
  /** Feature name -> description. */
  readonly features: ReadonlyMap<string, string>;

  constructor(nodes: Map<string, CapabilityNode>, aliases: Map<string, string>, features: Map<string, string>) {
    this.nodes = nodes;
    this.aliases = aliases;
    this.features = features;
    Object.freeze(this);
  }

  /** Whether `path` is a node's path or an alias. */
  has(path: string): boolean {
    return this.nodes.has(path) || this.aliases.has(path);
  }

  /** Every canonical path, sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** The nodes without a parent. */
  roots(): CapabilityNode[] {
    return [...this.nodes.values()].filter((node) => node.parent === null);
  }

  /** The canonical path for a path or alias; throws UnknownCapability with suggestions. */
  resolve(path: string): string {
    if (this.nodes.has(path)) {
      return path;
    }
    const target = this.aliases.get(path);
    if (target !== undefined) {
      return target;
    }
    throw new UnknownCapability(path, this.suggest(path));
  }

  /** The node at a path or alias; throws UnknownCapability. */
  lookup(path: string): CapabilityNode {
    return this.nodes.get(this.resolve(path)) as CapabilityNode;
  }

  /** Paths of the node's ancestors, nearest first. */
  ancestors(path: string): string[] {
    const result: string[] = [];
    let node = this.lookup(path);
    while (node.parent !== null) {
      result.push(node.parent);
      node = this.nodes.get(node.parent) as CapabilityNode;
    }
    return result;
  }

  /** Paths of every node below this one, depth first in declaration order. */
  descendants(path: string): string[] {
    const result: string[] = [];
    const stack = [...this.lookup(path).children].reverse();
    while (stack.length > 0) {
      const current = stack.pop() as string;
      result.push(current);
      stack.push(...[...(this.nodes.get(current) as CapabilityNode).children].reverse());
    }
    return result;
  }

  /** Close matches for a misspelt path or alias, best first, as canonical paths. */
  suggest(name: string, limit = 3): string[] {
    const candidates = [...this.nodes.keys(), ...this.aliases.keys()];
    // Someone writing only the leaf (`text-generation`) means the full path.
    const leaf = [...this.nodes.keys()].filter((path) => leafOf(path) === name);
    let close = getCloseMatches(name, candidates, limit, 0.6);
    if (close.length === 0) {
      const byLeaf = new Map<string, string>();
      for (const path of this.nodes.keys()) {
        byLeaf.set(leafOf(path), path);
      }
      close = getCloseMatches(leafOf(name), byLeaf.keys(), 1).map((match) => byLeaf.get(match) as string);
    }
    const merged: string[] = [];
    for (const candidate of [...leaf, ...close]) {
      const canonical = this.aliases.get(candidate) ?? candidate;
      if (!merged.includes(canonical)) {
        merged.push(canonical);
      }
    }
    return merged.slice(0, limit);
  }

  /** Close matches for a misspelt feature name. */
  suggestFeature(name: string): string[] {
    return getCloseMatches(name, this.features.keys(), 3, 0.6);
  }
}

/** A node of the tree, frozen. */
export function capabilityNode(fields: Omit<CapabilityNode, "name" | "depth">): CapabilityNode {
  return Object.freeze({ ...fields, name: leafOf(fields.path), depth: fields.path.split(".").length - 1 });
}
