// The table page's Lineage tab: the lineage viewer around this table, and a link to the full-page viewer.
import { html, useState } from "../../lib.js";
import { Link } from "../../router.js";
import { LineageViewer } from "../../lineage/view.js";
import { DEFAULT_DEPTH, lineagePageHref } from "../lineage.js";

export default function LineageTab({ urn }) {
  const [options, setOptions] = useState({ depth: DEFAULT_DEPTH, columnLevel: false });
  return html`<div class="lineage-tab">
    <p><${Link} href=${lineagePageHref(urn, options.depth, options.columnLevel)}>Open the full-page viewer</${Link}></p>
    <${LineageViewer} urn=${urn} depth=${options.depth} columnLevel=${options.columnLevel} onOptions=${setOptions}
      className="embedded" />
  </div>`;
}
