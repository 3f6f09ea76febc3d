/**
 * Mutation operators for MMU-notifier users: each undoes one thing the 5.5 protocol or the
 * kernel's object lifetimes require, so a scenario suite that passes the variant but also
 * passes the mutant has a gap (or the mutant is equivalent). Located with the TypeScript
 * compiler API and applied as text edits, so the mutant differs from the original by exactly
 * the edit (comments and formatting kept, diffs small):
 *
 *   drop-read-retry        mmu_interval_read_retry/check_retry(...) -> false (never retry)
 *   invert-read-retry      -> !(...) (retry when valid, use when invalidated)
 *   drop-set-seq           remove the invalidate callback's mmu_interval_set_seq
 *   set-seq-outside-lock   move set_seq past the unlock that follows it (or before the lock)
 *   drop-lock-pair         remove a lock and its unlocks in a function around the collision check
 *   read-begin-after-fault take mmu_interval_read_begin after the fault (hmm_range_fault, GUP)
 *   shorten-notifier-range an interval notifier inserted one page shorter
 *   shorten-clear-range    a device clear (unmap/invalidate/PFNCLR) one page shorter
 *   drop-remove            remove an mmu_interval_notifier_remove / mmu_notifier_unregister
 *   drop-mmput             remove an mmput
 *   drop-put               remove a put (mmu_notifier_put, mmdrop, put_page, release of GUP pages)
 *   swap-ordered           swap two adjacent statements that each do a kernel-ordered step
 *   ignore-blockable       mmu_notifier_range_blockable(range) -> true (sleep where the caller
 *                          cannot: the oom reaper's non-blockable start)
 *   drop-fence-wait        the invalidate callback's dma_resv_wait_timeout_rcu / dma_fence_wait
 *                          returns at once (a positive timeout left: "every fence signalled")
 *   drop-clear             remove a device clear (unmap/invalidate/clear/zap/evict) altogether
 *
 * Names are matched on the callee (the last identifier of the call), the vocabulary the
 * models share through @mnlab/core.
 */
import { relative, sep } from "node:path";
import ts from "typescript";
import { applyEdits, type Edit, parse } from "../variant-source.ts";

export const OPERATORS = [
  "drop-read-retry",
  "invert-read-retry",
  "drop-set-seq",
  "set-seq-outside-lock",
  "drop-lock-pair",
  "read-begin-after-fault",
  "shorten-notifier-range",
  "shorten-clear-range",
  "drop-remove",
  "drop-mmput",
  "drop-put",
  "swap-ordered",
  "ignore-blockable",
  "drop-fence-wait",
  "drop-clear",
] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Mutant {
  /** Stable while the source does not change: operator@file:line:column. */
  id: string;
  operator: Operator;
  /** Absolute path of the mutated file. */
  file: string;
  /** file:line:column, relative to `root`. */
  location: string;
  /** What was done, in one line. */
  description: string;
  /** The mutated file's text. */
  text: string;
}

const PAGE = "0x1000"; // PAGE_SIZE of the model (PAGE_SHIFT 12)

const RETRY = new Set(["mmuIntervalReadRetry", "mmuIntervalCheckRetry"]);
const SET_SEQ = new Set(["mmuIntervalSetSeq"]);
const READ_BEGIN = new Set(["mmuIntervalReadBegin"]);
const FAULT = new Set(["hmmRangeFault", "getUserPages", "pinUserPages", "handleMmFault"]);
const INSERT = new Set(["mmuIntervalNotifierInsert", "mmuIntervalNotifierInsertLocked"]);
const REMOVE = new Set(["mmuIntervalNotifierRemove", "mmuNotifierUnregister"]);
const PUT = new Set([
  "mmuNotifierPut",
  "mmdrop",
  "putPage",
  "releaseUserPages",
  "putUserPage",
  "putUserPages",
  "unpinUserPage",
  "unpinUserPages",
]);
const LOCK = new Set(["lock", "mutexLock", "spinLock", "downWrite", "downRead"]);
const UNLOCK = new Set(["unlock", "mutexUnlock", "spinUnlock", "upWrite", "upRead"]);
const CLEAR = /unmap|invalidate|clear|zap/i;
const DROP_CLEAR = /unmap|invalidate|clear|zap|evict/i;
const BLOCKABLE = new Set(["rangeBlockable", "mmuNotifierRangeBlockable"]);
const FENCE_WAIT = new Set([
  "dmaResvWaitTimeoutRcu",
  "dmaResvWaitTimeout",
  "dmaFenceWait",
  "dmaFenceWaitTimeout",
]);
const CORE_NOTIFIER = /^(mmuInterval|mmuNotifier|__mmuNotifier)/;
const ORDERED = new Set([
  ...LOCK,
  ...UNLOCK,
  "trylock",
  ...SET_SEQ,
  ...READ_BEGIN,
  ...INSERT,
  ...REMOVE,
  ...FAULT,
  ...PUT,
  "mmput",
  "mmget",
  "mmgetNotZero",
  "mmgrab",
  "map",
  "unmap",
]);

function calleeName(c: ts.CallExpression): string | null {
  const e = c.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return null;
}

/** The call an expression statement makes (through an await), if it is one. */
function statementCall(s: ts.Statement): ts.CallExpression | null {
  if (!ts.isExpressionStatement(s)) return null;
  let e: ts.Expression = s.expression;
  if (ts.isVoidExpression(e)) e = e.expression;
  if (ts.isAwaitExpression(e)) e = e.expression;
  return ts.isCallExpression(e) ? e : null;
}

function callsIn(n: ts.Node): ts.CallExpression[] {
  const out: ts.CallExpression[] = [];
  const visit = (x: ts.Node) => {
    if (ts.isCallExpression(x)) out.push(x);
    // A nested function is another body: its calls are not this statement's.
    if (x !== n && ts.isFunctionLike(x)) return;
    ts.forEachChild(x, visit);
  };
  visit(n);
  return out;
}

/** Every call in the file, in every function. */
function allCalls(sf: ts.SourceFile): ts.CallExpression[] {
  const out: ts.CallExpression[] = [];
  const visit = (x: ts.Node) => {
    if (ts.isCallExpression(x)) out.push(x);
    ts.forEachChild(x, visit);
  };
  visit(sf);
  return out;
}

function callsNamed(n: ts.Node, names: ReadonlySet<string>): ts.CallExpression[] {
  const calls = ts.isSourceFile(n) ? allCalls(n) : callsIn(n);
  return calls.filter((c) => names.has(calleeName(c) ?? ""));
}

/** The property a lock is called on (`svmm.mutex.lock()` -> "mutex"), to pair it with its unlocks. */
function lockKey(c: ts.CallExpression, sf: ts.SourceFile): string {
  const e = c.expression;
  if (ts.isPropertyAccessExpression(e)) {
    const r = e.expression;
    if (ts.isPropertyAccessExpression(r)) return r.name.text;
    return r.getText(sf);
  }
  return c.arguments[0]?.getText(sf) ?? "";
}

function statementLists(sf: ts.SourceFile): ts.NodeArray<ts.Statement>[] {
  const out: ts.NodeArray<ts.Statement>[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isBlock(n) || ts.isSourceFile(n) || ts.isCaseClause(n) || ts.isDefaultClause(n))
      out.push(n.statements);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Whole lines of a statement (indentation and newline), so that removing it leaves no blank line. */
function lineSpan(sf: ts.SourceFile, s: ts.Node): { start: number; end: number } {
  const text = sf.text;
  let start = s.getStart(sf);
  let end = s.getEnd();
  let a = start;
  while (a > 0 && (text[a - 1] === " " || text[a - 1] === "\t")) a--;
  let b = end;
  while (b < text.length && (text[b] === " " || text[b] === "\t")) b++;
  const trailingComment = text.slice(b).match(/^\/\/[^\n]*/);
  if (trailingComment !== null) b += trailingComment[0].length;
  if ((a === 0 || text[a - 1] === "\n") && (b === text.length || text[b] === "\n")) {
    start = a;
    end = b === text.length ? b : b + 1;
  }
  return { start, end };
}

function removeStatement(sf: ts.SourceFile, s: ts.Node): Edit {
  return { ...lineSpan(sf, s), text: "" };
}

/** Move statement `s` to just after statement `after` (or before `before`). */
function moveStatement(
  sf: ts.SourceFile,
  s: ts.Statement,
  to: { after?: ts.Statement; before?: ts.Statement },
): Edit[] {
  const span = lineSpan(sf, s);
  const body = sf.text.slice(span.start, span.end);
  const wholeLine = body.endsWith("\n");
  const anchor = to.after ?? to.before!;
  const aSpan = lineSpan(sf, anchor);
  const indent = /^[ \t]*/.exec(sf.text.slice(aSpan.start))![0];
  const moved = wholeLine ? `${indent}${body.trimStart()}` : ` ${body.trim()} `;
  const at = to.after !== undefined ? aSpan.end : aSpan.start;
  return [
    { start: span.start, end: span.end, text: "" },
    { start: at, end: at, text: moved },
  ];
}

function declaredNames(s: ts.Statement): string[] {
  if (!ts.isVariableStatement(s)) return [];
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isIdentifier(n)) out.push(n.text);
    ts.forEachChild(n, visit);
  };
  for (const d of s.declarationList.declarations) visit(d.name);
  return out;
}

function mentions(n: ts.Node, names: readonly string[]): boolean {
  if (names.length === 0) return false;
  let hit = false;
  const visit = (x: ts.Node) => {
    if (hit) return;
    if (ts.isIdentifier(x) && names.includes(x.text)) hit = true;
    ts.forEachChild(x, visit);
  };
  visit(n);
  return hit;
}

function enclosingFunction(n: ts.Node): ts.FunctionLikeDeclaration | null {
  for (let p = n.parent; p !== undefined; p = p.parent) {
    if (ts.isFunctionLike(p) && "body" in p && p.body !== undefined) return p as ts.FunctionLikeDeclaration;
  }
  return null;
}

function functionName(f: ts.FunctionLikeDeclaration): string | null {
  if (f.name !== undefined && ts.isIdentifier(f.name)) return f.name.text;
  const p = f.parent;
  if (ts.isVariableDeclaration(p) && ts.isIdentifier(p.name)) return p.name.text;
  if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) return p.name.text;
  return null;
}

/** Names of functions in the file that contain a call named in `names`, closed over calls to each other. */
function functionsReaching(sf: ts.SourceFile, names: ReadonlySet<string>): Set<string> {
  const fns: { name: string; node: ts.FunctionLikeDeclaration }[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && "body" in n && n.body !== undefined) {
      const name = functionName(n as ts.FunctionLikeDeclaration);
      if (name !== null) fns.push({ name, node: n as ts.FunctionLikeDeclaration });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  const reach = new Set<string>(names);
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of fns) {
      if (reach.has(f.name)) continue;
      if (callsIn(f.node.body!).some((c) => reach.has(calleeName(c) ?? ""))) {
        reach.add(f.name);
        changed = true;
      }
    }
  }
  return reach;
}

const END_NAME = /^(end|limit|to|last|size|len|length)$|[a-z](End|Limit|Len|Size)$/;

/**
 * Is `a` the end (or length) of an address range, by its name: `end`, `range.end`, `limit`,
 * `start + len`? Not an end: a flag, a sequence number, a count of pages, a callback (other
 * arguments of a clear), and ULONG_MAX — a clear of everything, whose last page no process
 * ever maps, so taking a page off it could only make an equivalent mutant.
 */
function isRangeEnd(a: ts.Expression, sf: ts.SourceFile): boolean {
  if (ts.isParenthesizedExpression(a)) return isRangeEnd(a.expression, sf);
  if (ts.isIdentifier(a)) return a.text !== "ULONG_MAX" && END_NAME.test(a.text);
  if (ts.isPropertyAccessExpression(a)) return END_NAME.test(a.name.text);
  if (ts.isBinaryExpression(a)) {
    const op = a.operatorToken.kind;
    if (op !== ts.SyntaxKind.PlusToken && op !== ts.SyntaxKind.MinusToken) return false;
    return isRangeEnd(a.left, sf) || isRangeEnd(a.right, sf);
  }
  return false;
}

/** Every mutant of one file. `root` is what locations are relative to. */
export function mutantsOf(file: string, text: string, root: string): Mutant[] {
  const sf = parse(file, text);
  const rel = relative(root, file).split(sep).join("/");
  const out: Mutant[] = [];
  const seen = new Set<string>();
  const add = (operator: Operator, at: ts.Node, description: string, edits: Edit[]) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(at.getStart(sf));
    const location = `${rel}:${line + 1}:${character + 1}`;
    let id = `${operator}@${location}`;
    for (let k = 2; seen.has(id); k++) id = `${operator}@${location}#${k}`;
    seen.add(id);
    const mutated = applyEdits(text, edits);
    if (mutated === text) return;
    out.push({ id, operator, file, location, description, text: mutated });
  };
  const src = (n: ts.Node) => n.getText(sf).replace(/\s+/g, " ");
  const whole = (c: ts.CallExpression): ts.Expression =>
    ts.isAwaitExpression(c.parent) ? (c.parent as ts.AwaitExpression) : c;

  // drop-read-retry, invert-read-retry
  for (const c of callsNamed(sf, RETRY)) {
    const e = whole(c);
    const r = { start: e.getStart(sf), end: e.getEnd() };
    add("drop-read-retry", c, `\`${src(e)}\` -> \`false\``, [{ ...r, text: "false" }]);
    add("invert-read-retry", c, `\`${src(e)}\` -> \`!(${src(e)})\``, [{ ...r, text: `!(${e.getText(sf)})` }]);
  }

  const lists = statementLists(sf);
  const isCall = (s: ts.Statement, names: ReadonlySet<string>) => {
    const c = statementCall(s);
    return c !== null && names.has(calleeName(c) ?? "");
  };

  for (const list of lists) {
    list.forEach((s, i) => {
      // drop-set-seq, set-seq-outside-lock
      if (isCall(s, SET_SEQ)) {
        add("drop-set-seq", s, `remove \`${src(s)}\``, [removeStatement(sf, s)]);
        const unlock = list.slice(i + 1).find((t) => isCall(t, UNLOCK));
        const lock = list
          .slice(0, i)
          .reverse()
          .find((t) => callsIn(t).some((c) => LOCK.has(calleeName(c) ?? "") || calleeName(c) === "trylock"));
        if (unlock !== undefined) {
          add(
            "set-seq-outside-lock",
            s,
            `move \`${src(s)}\` after \`${src(unlock)}\``,
            moveStatement(sf, s, { after: unlock }),
          );
        } else if (lock !== undefined) {
          add(
            "set-seq-outside-lock",
            s,
            `move \`${src(s)}\` before the lock`,
            moveStatement(sf, s, { before: lock }),
          );
        }
      }
      // read-begin-after-fault
      if (
        callsNamed(s, READ_BEGIN).length > 0 &&
        (ts.isExpressionStatement(s) || ts.isVariableStatement(s))
      ) {
        const names = declaredNames(s);
        const faults = functionsReaching(sf, FAULT);
        for (let j = i + 1; j < list.length; j++) {
          const t = list[j]!;
          const between = list.slice(i + 1, j + 1);
          if (between.some((b) => mentions(b, names))) break;
          if (callsIn(t).some((c) => faults.has(calleeName(c) ?? ""))) {
            add(
              "read-begin-after-fault",
              s,
              `move \`${src(s)}\` after \`${src(t)}\``,
              moveStatement(sf, s, { after: t }),
            );
            break;
          }
        }
      }
      // drop-remove, drop-mmput, drop-put
      const c = statementCall(s);
      const name = c === null ? "" : (calleeName(c) ?? "");
      if (REMOVE.has(name)) add("drop-remove", s, `remove \`${src(s)}\``, [removeStatement(sf, s)]);
      if (name === "mmput") add("drop-mmput", s, `remove \`${src(s)}\``, [removeStatement(sf, s)]);
      if (PUT.has(name)) add("drop-put", s, `remove \`${src(s)}\``, [removeStatement(sf, s)]);
      if (DROP_CLEAR.test(name) && !CORE_NOTIFIER.test(name) && !REMOVE.has(name)) {
        const enclosing = enclosingFunction(s);
        if (enclosing === null || functionName(enclosing) !== name)
          add("drop-clear", s, `remove \`${src(s)}\``, [removeStatement(sf, s)]);
      }
      // swap-ordered
      const next = list[i + 1];
      if (
        next !== undefined &&
        (ts.isExpressionStatement(s) || ts.isVariableStatement(s)) &&
        (ts.isExpressionStatement(next) || ts.isVariableStatement(next)) &&
        callsIn(s).some((x) => ORDERED.has(calleeName(x) ?? "") || CLEAR.test(calleeName(x) ?? "")) &&
        callsIn(next).some((x) => ORDERED.has(calleeName(x) ?? "") || CLEAR.test(calleeName(x) ?? "")) &&
        !mentions(next, declaredNames(s)) &&
        src(s) !== src(next)
      ) {
        const a = lineSpan(sf, s);
        const b = lineSpan(sf, next);
        if (sf.text.slice(a.end, b.start).trim() === "") {
          const first = sf.text.slice(a.start, a.end);
          const second = sf.text.slice(b.start, b.end);
          add("swap-ordered", s, `swap \`${src(s)}\` and \`${src(next)}\``, [
            { start: a.start, end: b.end, text: second + sf.text.slice(a.end, b.start) + first },
          ]);
        }
      }
    });
  }

  // ignore-blockable
  for (const c of callsNamed(sf, BLOCKABLE)) {
    add("ignore-blockable", c, `\`${src(c)}\` -> \`true\``, [
      { start: c.getStart(sf), end: c.getEnd(), text: "true" },
    ]);
  }
  // drop-fence-wait: a statement waiting is removed; a wait whose result is used returns 1.
  for (const c of callsNamed(sf, FENCE_WAIT)) {
    const e = whole(c);
    const stmt = ts.isExpressionStatement(e.parent) ? e.parent : null;
    if (stmt !== null) add("drop-fence-wait", c, `remove \`${src(stmt)}\``, [removeStatement(sf, stmt)]);
    else
      add("drop-fence-wait", c, `\`${src(e)}\` -> \`1\``, [
        { start: e.getStart(sf), end: e.getEnd(), text: "1" },
      ]);
  }

  // drop-lock-pair: a lock and its unlocks, in a function that reaches the collision check.
  const checkers = functionsReaching(sf, RETRY);
  const visitFns = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && "body" in n && n.body !== undefined && ts.isBlock(n.body)) {
      const f = n as ts.FunctionLikeDeclaration;
      const name = functionName(f);
      if (name !== null && checkers.has(name) && !RETRY.has(name)) {
        const stmts: ts.Statement[] = [];
        const collect = (x: ts.Node) => {
          if (x !== f && ts.isFunctionLike(x)) return;
          if (ts.isExpressionStatement(x)) stmts.push(x);
          ts.forEachChild(x, collect);
        };
        collect(f.body!);
        for (const s of stmts) {
          const c = statementCall(s);
          if (c === null || calleeName(c) !== "lock") continue;
          const key = lockKey(c, sf);
          const unlocks = stmts.filter((t) => {
            const u = statementCall(t);
            return (
              t.getStart(sf) > s.getStart(sf) &&
              u !== null &&
              calleeName(u) === "unlock" &&
              lockKey(u, sf) === key
            );
          });
          if (unlocks.length === 0) continue;
          add(
            "drop-lock-pair",
            s,
            `remove \`${src(s)}\` and its ${unlocks.length} unlock${unlocks.length === 1 ? "" : "s"} in ${name}()`,
            [s, ...unlocks].map((t) => removeStatement(sf, t)),
          );
        }
      }
    }
    ts.forEachChild(n, visitFns);
  };
  visitFns(sf);

  // shorten-notifier-range, shorten-clear-range
  for (const c of allCalls(sf)) {
    const name = calleeName(c) ?? "";
    const enclosing = enclosingFunction(c);
    if (INSERT.has(name) && c.arguments.length >= 4) {
      const len = c.arguments[3]!;
      add("shorten-notifier-range", c, `${name}(): length \`${src(len)}\` -> \`(${src(len)}) - ${PAGE}\``, [
        { start: len.getStart(sf), end: len.getEnd(), text: `(${len.getText(sf)}) - ${PAGE}` },
      ]);
    } else if (
      CLEAR.test(name) &&
      !CORE_NOTIFIER.test(name) &&
      c.arguments.length >= 2 &&
      // not the callback's own recursion into itself
      (enclosing === null || functionName(enclosing) !== name)
    ) {
      const end = [...c.arguments].reverse().find((a) => isRangeEnd(a, sf));
      if (end === undefined) continue;
      add("shorten-clear-range", c, `${name}(): end \`${src(end)}\` -> \`(${src(end)}) - ${PAGE}\``, [
        { start: end.getStart(sf), end: end.getEnd(), text: `(${end.getText(sf)}) - ${PAGE}` },
      ]);
    }
  }
  return out;
}

/** A unified diff of one edit region (2 lines of context), labelled with the file's path. */
export function unifiedDiff(label: string, before: string, after: string): string {
  const a = before.split("\n");
  const b = after.split("\n");
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  const ctx = 2;
  const from = Math.max(0, p - ctx);
  const aEnd = Math.min(a.length, a.length - s + ctx);
  const bEnd = Math.min(b.length, b.length - s + ctx);
  const lines = [`--- a/${label}`, `+++ b/${label}`];
  lines.push(`@@ -${from + 1},${aEnd - from} +${from + 1},${bEnd - from} @@`);
  for (let i = from; i < p; i++) lines.push(` ${a[i]}`);
  for (let i = p; i < a.length - s; i++) lines.push(`-${a[i]}`);
  for (let i = p; i < b.length - s; i++) lines.push(`+${b[i]}`);
  for (let i = a.length - s; i < aEnd; i++) lines.push(` ${a[i]}`);
  return lines.join("\n");
}

/**
 * Does the module define scenarios (export a value declared as `Scenario` or `Scenario[]`)?
 * Those modules are the test side of a driver package (scenarios.ts, dmirror's selftests.ts).
 */
export function definesScenarios(file: string, text: string): boolean {
  const sf = parse(file, text);
  let yes = false;
  ts.forEachChild(sf, (n) => {
    if (!ts.isVariableStatement(n)) return;
    if (!n.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return;
    for (const d of n.declarationList.declarations) {
      if (d.type !== undefined && /^(readonly\s+)?Scenario(\[\])?$/.test(d.type.getText(sf).trim()))
        yes = true;
    }
  });
  return yes;
}
