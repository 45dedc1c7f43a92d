// Reads a Mermaid diagram on stdin and prints what Mermaid itself parsed: its type, vertices (id -> text) and edges.
// A syntax error exits 1 with Mermaid's message. Mermaid needs a DOM even to parse; jsdom provides one.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

let text = "";
for await (const chunk of process.stdin) text += chunk;
try {
  await mermaid.parse(text);  // also registers the diagram types getDiagramFromText detects
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const vertices = Object.fromEntries([...diagram.db.getVertices()].map(([id, v]) => [id, v.text]));
  const edges = diagram.db.getEdges().map((e) => ({ start: e.start, end: e.end, text: e.text, stroke: e.stroke }));
  console.log(JSON.stringify({ type: diagram.type, vertices, edges }));
} catch (error) {
  console.error(String(error.message || error));
  process.exit(1);
}
