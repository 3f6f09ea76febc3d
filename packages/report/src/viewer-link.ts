/**
 * Where a counterexample sits in the trace viewer (reports/viewer/, built by @mnlab/viewer):
 * `viewer/index.html#driver/variant/scenario/kind`. The fragment is defined here, once: the
 * Markdown pages print it, and `mnlab report` hands this function to the viewer, which files
 * each counterexample under the same id. (The viewer does not import this package, nor this
 * package the viewer: they sit side by side, and the report command wires them.)
 */

export interface ViewerTarget {
  driver: string;
  variant: string;
  scenario: string;
  /** The violation kind (or `pass` for a 5.5 run shown next to a 5.4 counterexample). */
  kind: string;
}

/** `driver/variant/scenario/kind`, each part URI-encoded. */
export function viewerFragment(c: ViewerTarget): string {
  return [c.driver, c.variant, c.scenario, c.kind].map(encodeURIComponent).join("/");
}

/** The link from a page in reports/ (`base` is the viewer's page relative to it). */
export function viewerLink(c: ViewerTarget, base = "viewer/index.html"): string {
  return `${base}#${viewerFragment(c)}`;
}
