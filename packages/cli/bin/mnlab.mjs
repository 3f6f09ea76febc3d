#!/usr/bin/env node
// `npx mnlab` after install: the command is TypeScript run through tsx, with no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
