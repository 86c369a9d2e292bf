/**
 * Values in words, spelt as the Python runtime spells them, so that the two runtimes' messages
 * about the same file read the same: JSON as `json.dumps` writes it, numbers with thousands
 * separators as `format(n, ",")` does.
 */

/** A float as Python's `repr` writes it: exponent form below 1e-4 and from 1e16. */
export function pythonFloat(value: number): string {
  if (!Number.isFinite(value)) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  const [mantissa, exponentText] = value.toExponential().split("e") as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return String(value);
}

/** A decoded JSON value as Python's `json.dumps` writes it (default separators). */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) {
    return "null";
  }
  if (typeof value === "boolean") {
    return value ? "true" : "false";
  }
  if (typeof value === "number") {
    // JSON.parse cannot tell 1.0 from 1: a whole number reads as Python's int would.
    return Number.isInteger(value) && Math.abs(value) < 1e21 ? String(value) : pythonFloat(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(pythonJson).join(", ")}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}: ${pythonJson(item)}`).join(", ")}}`;
}

/** A JSON value as the file spells it, shortened to 60 characters. */
export function show(value: unknown): string {
  const text = pythonJson(value);
  return text.length <= 60 ? text : `${text.slice(0, 59)}…`;
}

const REPR_WORDS = new Map<unknown, string>([[null, "None"], [undefined, "None"], [true, "True"], [false, "False"]]);

/** A value as Python's `repr` writes the decoded JSON value. */
export function pythonRepr(value: unknown): string {
  if (typeof value === "string") {
    return value.includes("'") && !value.includes('"') ? JSON.stringify(value) : `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  }
  return REPR_WORDS.get(value) ?? pythonJson(value);
}

/** An integer with thousands separators (`128,000`). */
export function thousands(value: number): string {
  if (!Number.isInteger(value)) {
    return String(value);
  }
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
