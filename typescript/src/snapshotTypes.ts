// Generated from schemas/snapshot.schema.json by scripts/generate-types.mjs (`npm run types`).
// Do not edit: a test fails while this file differs from what the script writes.

/**
 * build/registry.json: the compiled catalog. The file is canonical JSON (sorted keys, no whitespace, UTF-8); `$digest` is the sha256 of the same document serialised canonically without `$digest`.
 */
export interface SnapshotDocument {
  "$digest": string;
  format: {
    name: "modelreg-registry";
    major: 1;
    minor: number;
  };
  version: {
    /** The commit the catalog was read from; null outside git. */
    commit: string | null;
    /** The working tree's catalog differed from the commit. */
    dirty: boolean | null;
    /** Commits reachable from `commit` (monotonic along a branch). */
    number: number | null;
    /** Human-readable version, e.g. 42.g1a2b3c4d5e6f(.dirty). */
    label: string;
    /**
     * Whether registered_at dates come from full git history; `shallow` means they were accepted as unknown.
     */
    history: "full" | "shallow" | "none";
  };
  capabilities: {
    [key: string]: {
      path: SnapshotCapabilityPath;
      parent: string | null;
      children: SnapshotCapabilityPath[];
      aliases: string[];
      description: string;
      deprecated: {
        [key: string]: unknown;
      } | null;
    };
  };
  aliases: {
    [key: string]: SnapshotCapabilityPath;
  };
  features: {
    [key: string]: string;
  };
  providers: {
    [key: string]: {
      name: SnapshotProviderName;
      display_name: string;
      [key: string]: unknown;
    };
  };
  models: {
    [key: string]: {
      name: SnapshotModelName;
      provider: SnapshotProviderName;
      model_id: string;
      capabilities: SnapshotCapabilityPath[];
      delivery: SnapshotDelivery;
      batch: boolean;
      features: SnapshotFeatures;
      constraints: SnapshotConstraints;
      limits: SnapshotLimits;
      modalities: SnapshotModalities;
      cost: SnapshotCost;
      lifecycle: SnapshotLifecycle & Required<Pick<SnapshotLifecycle, "status">>;
      priority: SnapshotPriority;
      pools: SnapshotCapabilityPath[];
      /**
       * ISO 8601 committer time (UTC) of the commit that added the model's file to the branch, along its first-parent history (for a file from a merged branch, the merge); null when unknown.
       */
      registered_at: string | null;
      /** The model file, relative to the catalog. */
      source: string;
      [key: string]: unknown;
    };
  };
  /**
   * Capability path -> ordered model names: every model registered at the node or a descendant; active and preview before deprecated, then priority, then name; retired models excluded.
   */
  pools: {
    [key: string]: SnapshotModelName[];
  };
}

/** A capability path or alias from capabilities.yaml. */
export type SnapshotCapabilityPath = string;

export type SnapshotConstraints = {
  max_images_per_request?: number;
  max_audio_seconds?: number;
  max_file_size_mb?: number;
  max_batch_size?: number;
  output_dimensions?: number[];
  regions?: string[];
  requests_per_minute?: number;
  tokens_per_minute?: number;
  temperature_max?: number;
  /** User extension data, carried through untouched. */
  [key: `x-${string}`]: unknown;
};

export type SnapshotCost = {
  currency?: string;
  input_per_mtok?: number;
  output_per_mtok?: number;
  cached_input_per_mtok?: number;
  per_image?: number;
  per_second?: number;
  per_1k_characters?: number;
  per_request?: number;
  /** User extension data, carried through untouched. */
  [key: `x-${string}`]: unknown;
};

/** sync: the answer comes in the response; async: a job is polled. */
export type SnapshotDelivery = "sync" | "async";

/** Feature flags from the vocabulary in capabilities.yaml. */
export type SnapshotFeatures = {
  [key: string]: boolean;
};

export type SnapshotLifecycle = {
  /**
   * discovered: listed by the provider, capabilities not yet known; in no pool until a person fills them in and sets another status.
   */
  status?: "preview" | "active" | "deprecated" | "retired" | "discovered";
  /** A date, YYYY-MM-DD (quote it or leave it plain: dates load as strings). */
  released?: string;
  /** A date, YYYY-MM-DD (quote it or leave it plain: dates load as strings). */
  deprecated_at?: string;
  /** A date, YYYY-MM-DD (quote it or leave it plain: dates load as strings). */
  retires_at?: string;
  /**
   * <provider>/<slug>: lowercase letters, digits, '.', '-', '_' and '/' for nesting; equal to the file's path under models.d/ without .yaml.
   */
  replacement?: string;
  /** User extension data, carried through untouched. */
  [key: `x-${string}`]: unknown;
};

export type SnapshotLimits = {
  context_window?: number;
  max_input_tokens?: number;
  max_output_tokens?: number;
  /**
   * Requests per minute the router may send this model (its rate limit or your quota). A model at its limit is skipped until the minute turns.
   */
  rpm?: number;
  /** Tokens per minute the router may spend on this model, counted from the usage of its answers. */
  tpm?: number;
  /** User extension data, carried through untouched. */
  [key: `x-${string}`]: unknown;
};

export type SnapshotModalities = {
  input?: ("text" | "image" | "audio" | "video" | "pdf" | "embedding")[];
  output?: ("text" | "image" | "audio" | "video" | "pdf" | "embedding")[];
  /** User extension data, carried through untouched. */
  [key: `x-${string}`]: unknown;
};

/**
 * <provider>/<slug>: lowercase letters, digits, '.', '-', '_' and '/' for nesting; equal to the file's path under models.d/ without .yaml.
 */
export type SnapshotModelName = string;

/** Order within a pool: lower first. */
export type SnapshotPriority = number;

export type SnapshotProviderName = string;
