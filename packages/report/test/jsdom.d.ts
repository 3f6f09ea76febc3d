// jsdom ships no types of its own (and @types/jsdom is not installed): the part the Mermaid
// parse test uses.
declare module "jsdom" {
  export class JSDOM {
    constructor(html?: string, options?: { pretendToBeVisual?: boolean });
    readonly window: Window & typeof globalThis;
  }
}
