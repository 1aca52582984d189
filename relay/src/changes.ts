// The rule changes mcrd accepts, as functions on a RuleTable that either make the whole change or
// throw (with a message for the caller) before touching the table: the change queue relies on it.
import { RuleTable, configIdentity, describeInput, sameSpec, validateRuleSpec, type Rule } from './rules.js';

export type InterfaceExists = (name: string) => boolean;

export interface ApplyResult { added: Rule[]; removed: Rule[] }
export interface ConfigMerge { added: number; removed: number; changed: number }

export function addRule(table: RuleTable, spec: unknown, exists: InterfaceExists): Rule {
  const rule = table.prepare(validateRuleSpec(spec, exists));
  table.commit(rule);
  return rule;
}

export function removeRule(table: RuleTable, selector: { id?: unknown; name?: unknown }): Rule {
  const rule = table.find(selector);
  table.delete(rule.id);
  return rule;
}

/** Runs `change` on a copy first: if it throws there, the table is untouched. */
function atomically<T>(table: RuleTable, change: (t: RuleTable) => T): T {
  change(table.clone());
  return change(table);
}

/** Removes, then adds, as one change; the first problem names its place and nothing changes. */
export function applyBatch(table: RuleTable, request: { add?: unknown; remove?: unknown }, exists: InterfaceExists): ApplyResult {
  const adds = request.add ?? [];
  const removes = request.remove ?? [];
  if (!Array.isArray(adds) || !Array.isArray(removes)) throw new Error("apply: 'add' and 'remove' must be lists");
  const step = <T>(what: string, i: number, run: () => T): T => {
    try {
      return run();
    } catch (err) {
      throw new Error(`apply: ${what} ${i + 1}: ${(err as Error).message}; nothing changed`);
    }
  };
  return atomically(table, (t) => {
    const removed = removes.map((selector: unknown, i) =>
      step('remove', i, () => {
        if (typeof selector !== 'object' || selector === null) throw new Error('must be {id} or {name}');
        return removeRule(t, selector as { id?: unknown; name?: unknown });
      }),
    );
    const added = adds.map((spec: unknown, i) => step('add', i, () => addRule(t, spec, exists)));
    return { added, removed };
  });
}

/**
 * Makes the table's config-file rules (origin 'config') match `specs`, at start-up and on SIGHUP:
 * unchanged rules stay (same id, no interruption), changed ones are replaced, missing ones removed,
 * new ones added. Rules added at runtime are left alone; one a config rule clashes with is an error.
 */
export function mergeConfigRules(table: RuleTable, specs: unknown[], exists: InterfaceExists): ConfigMerge {
  const wanted = specs.map((spec, i) => {
    try {
      return validateRuleSpec(spec, exists);
    } catch (err) {
      throw new Error(`config rule ${i + 1}: ${(err as Error).message}`);
    }
  });
  return atomically(table, (t) => {
    const current = new Map(t.list().filter((r) => r.origin === 'config').map((r) => [configIdentity(r), r]));
    const counts = { added: 0, removed: 0, changed: 0 };
    const keep = new Set<string>();
    for (const spec of wanted) {
      const id = configIdentity(spec);
      const old = current.get(id);
      keep.add(id);
      if (old && sameSpec(old, spec)) continue;
      if (old) {
        t.delete(old.id);
        counts.changed++;
      } else counts.added++;
      try {
        t.commit({ ...t.prepare(spec), origin: 'config' });
      } catch (err) {
        throw new Error(`config rule ${describeInput(spec)}: ${(err as Error).message}`);
      }
    }
    for (const [id, rule] of current) {
      if (keep.has(id)) continue;
      t.delete(rule.id);
      counts.removed++;
    }
    return counts;
  });
}
