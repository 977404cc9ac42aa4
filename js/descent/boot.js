// The page's entry point: mount the live panels once the document is parsed.

import { mountAll } from "./page.js";

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => mountAll());
  else mountAll();
}
