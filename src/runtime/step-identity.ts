/**
 * What a stateful step's checkpointed state means, so that a changed pipeline never restores one
 * step's state into another (issue 13, item 4).
 *
 * State is keyed by step id. Unnamed steps get ids per kind in creation order (`count-1`,
 * `count-2`), so adding a count before an existing one shifts the ids: without a check the old
 * count would restart empty and the new one inherit keys of a different key function. Every
 * checkpoint therefore records each stateful step's identity — its kind, aggregation (and the field
 * it folds), key function, window, join spec and the input topics it reads — and a restore compares
 * them: a step whose identity changed, or a checkpointed step that is no longer in the pipeline, is
 * refused with one line, unless the user says what to do with it (`dropState`, `renameState`).
 * Steps new to the pipeline start empty. Functions are compared by their source text with
 * whitespace collapsed: an edit that changes the key changes the text.
 *
 * What is not part of the identity (changing it keeps the state): allowed lateness, emission,
 * filters and maps before the step, and everything after it.
 */
import { WeirError } from "../errors.js";
import type { GraphNode, PipelineGraph } from "../graph/graph.js";
import { describeWindow } from "../time/windows.js";
import { formatDuration } from "../util/duration.js";

/** The identity of a stateful step (aggregate or join), as checkpoints store it. */
export interface StepIdentity {
  kind: "aggregate" | "join";
  /** count, sum(<field>), ..., or the join's spec. */
  what: string;
  /** The key function's source text (after the nearest keyBy), or "none". */
  key: string;
  /** The window (aggregates), or "none". */
  window: string;
  /** The topics the step's input comes from, sorted (a join: left | right). */
  input: string;
}

/** What to do with the checkpointed state of steps that changed (`weir run --drop-state/--rename-state`). */
export interface StateChanges {
  /** Steps whose checkpointed state is discarded: they start empty. */
  drop?: readonly string[];
  /** Checkpointed step id -> the id of the step that takes its state over. */
  rename?: Readonly<Record<string, string>>;
}

const FIELDS: ReadonlyArray<keyof StepIdentity> = ["kind", "what", "key", "window", "input"];

/** A function's source text with runs of whitespace made one space. */
function sourceText(fn: unknown): string {
  return typeof fn === "function" ? fn.toString().replace(/\s+/g, " ").trim() : "none";
}

/** The identity of every stateful step of `graph`, by step id. */
export function stepIdentities(graph: PipelineGraph): Record<string, StepIdentity> {
  const byId = new Map<string, GraphNode>(graph.nodes.map((n) => [n.id, n]));
  const topicsOf = (id: string): string[] => {
    const n = byId.get(id)!;
    if (n.kind === "source") return [n.topic];
    if (n.kind === "join") return [...new Set([...topicsOf(n.input), ...topicsOf(n.other)])].sort();
    return n.input === null ? [] : topicsOf(n.input);
  };
  const keyOf = (id: string): string => {
    let n = byId.get(id)!;
    while (n.kind !== "keyBy") {
      if (n.kind === "source" || n.kind === "join" || n.input === null) return "none";
      n = byId.get(n.input)!;
    }
    return sourceText(n.fn);
  };
  const out: Record<string, StepIdentity> = {};
  for (const n of graph.nodes) {
    if (n.kind === "aggregate") {
      out[n.id] = {
        kind: "aggregate",
        what: n.fn.field === undefined ? n.fn.name : `${n.fn.name}(${sourceText(n.fn.field)})`,
        key: keyOf(n.input!),
        window: n.window === undefined ? "none" : describeWindow(n.window),
        input: topicsOf(n.input!).join(", "),
      };
    } else if (n.kind === "join") {
      const range = `from -${formatDuration(n.beforeMs)} to +${formatDuration(n.afterMs)}`;
      const on = n.on === undefined ? "" : ` on ${sourceText(n.on.left)} = ${sourceText(n.on.right)}`;
      out[n.id] = {
        kind: "join",
        what: `${n.pick === "nearest" ? "nearest" : "interval"} join ${range}${on}`,
        key: keyOf(n.input),
        window: "none",
        input: `${topicsOf(n.input).join(", ")} | ${topicsOf(n.other).join(", ")}`,
      };
    }
  }
  return out;
}

function short(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface MatchedSteps {
  /** The checkpointed state of each step to restore, by the id of the step that gets it. */
  states: Map<string, unknown>;
  /** What the user asked for that there was nothing to do for (worth a line, not a failure). */
  notes: string[];
}

/**
 * Which checkpointed step states to restore into which steps, after checking that every one belongs
 * to a step of the same identity. Throws one line naming every step that changed or went away.
 * Checkpoints written before identities existed are restored by id, unchecked.
 */
export function matchCheckpointedSteps(
  pipeline: string,
  saved: Readonly<Record<string, unknown>>,
  savedIdentities: Readonly<Record<string, StepIdentity>> | undefined,
  current: Readonly<Record<string, StepIdentity>>,
  changes: StateChanges = {},
): MatchedSteps {
  const drop = new Set(changes.drop ?? []);
  const rename = changes.rename ?? {};
  const problems: string[] = [];
  const notes: string[] = [];
  for (const id of drop)
    if (!(id in saved)) notes.push(`--drop-state ${id}: the checkpoint holds no state of step ${id}`);
  for (const [from, to] of Object.entries(rename)) {
    if (!(from in saved))
      notes.push(`--rename-state ${from}=${to}: the checkpoint holds no state of step ${from}`);
    else if (!(to in current))
      problems.push(`--rename-state ${from}=${to}: the pipeline has no stateful step ${to}`);
  }
  const out = new Map<string, unknown>();
  for (const [savedId, state] of Object.entries(saved)) {
    if (drop.has(savedId)) continue;
    const id = rename[savedId] ?? savedId;
    const now = current[id];
    if (now === undefined) {
      if (savedIdentities !== undefined) problems.push(`step ${savedId} is no longer in the pipeline`);
      continue;
    }
    const was = savedIdentities?.[savedId];
    if (savedIdentities !== undefined && was === undefined) {
      problems.push(`step ${savedId} has state but no identity in the checkpoint`);
      continue;
    }
    if (was !== undefined) {
      const changed = FIELDS.filter((f) => was[f] !== now[f]).map(
        (f) => `${f} was ${short(was[f])}, now ${short(now[f])}`,
      );
      if (changed.length > 0) {
        problems.push(
          `step ${id}${id === savedId ? "" : ` (was ${savedId})`} changed: ${changed.join("; ")}`,
        );
        continue;
      }
    }
    out.set(id, state);
  }
  if (problems.length > 0) {
    throw new WeirError(
      "INCOMPATIBLE_STATE",
      `pipeline ${pipeline} cannot resume from its checkpoint: ${problems.join("; ")}. ` +
        "Name stateful steps ({ name: ... }) so that their state follows them; to go on, start the steps " +
        "listed empty with --drop-state STEP[,STEP...], give a renamed step its state with --rename-state OLD=NEW, " +
        "or start the whole pipeline over with --from-scratch (docs/semantics.md#changing-a-pipeline)",
    );
  }
  return { states: out, notes };
}
