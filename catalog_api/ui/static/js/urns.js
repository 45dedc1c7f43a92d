// The catalog's URNs as the pages read them (docs/urns.md): urn:catalog:<type>:<name>[:<name>…], each name
// percent-encoded where it holds a separator, so splitting on ":" is safe.
const PREFIX = "urn:catalog:";

// {type, names} of a URN: type is source, schema, dataset or column; names are decoded.
export function parseUrn(urn) {
  if (!urn || !urn.startsWith(PREFIX)) return { type: null, names: [] };
  const [type, ...names] = urn.slice(PREFIX.length).split(":");
  return { type, names: names.map((name) => decodeURIComponent(name)) };
}

// The dataset URN a column URN belongs to (a dataset URN is its own).
export function tableUrnOf(urn) {
  if (!urn.startsWith(`${PREFIX}column:`)) return urn;
  return `${PREFIX}dataset:${urn.slice(`${PREFIX}column:`.length).split(":").slice(0, 3).join(":")}`;
}

// The last name of a URN: a column's, table's, schema's or source's own name.
export function shortName(urn) {
  const { names } = parseUrn(urn);
  return names.length ? names[names.length - 1] : urn;
}

// A tag that marks personal data: `pii` or `pii.<kind>`.
export const isPiiTag = (tag) => tag === "pii" || tag.startsWith("pii.");

// A name as a URN carries it: separators, spaces and control characters percent-encoded (catalog_api/urns.py).
const ESCAPED = /[%:/?#"<>\\^`{|}\s\u0000-\u001f\u007f-\u009f]/gu;
const escapeName = (name) => name.replace(ESCAPED, (ch) => encodeURIComponent(ch));  // upper-case hex, as there

export const schemaUrn = (source, schema) => `${PREFIX}schema:${escapeName(source)}:${escapeName(schema)}`;
