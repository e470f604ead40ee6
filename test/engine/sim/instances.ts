// Instances (e): the engine makes them only for a value an event carried, when a
// condition of their template fired with it (the model says so), and each holds its
// value in its environment.

import type { Check, Sim } from "./check.js";
import type { EventModel } from "./event-model.js";

export function instanceChecks(sim: Sim, model: EventModel | null): Check {
  const { world, count } = sim;
  const fail: Sim["fail"] = sim.fail;
  const e = world.engine;
  /** Every value each event key carried in the events the world emitted. */
  const carried = new Map<string, Set<string>>();
  /** The instances known so far, and how many names the engine had when last looked at. */
  const known = new Set<string>();
  let names = -1;

  const checkInstances = (): void => {
    if (e.topo.names.length === names) return;
    names = e.topo.names.length;
    for (const name of e.topo.names) {
      const at = name.indexOf("@");
      if (at < 0 || known.has(name)) continue;
      known.add(name);
      const template = name.slice(0, at);
      const def = world.graph.def(template);
      const value = name.slice(at + 1);
      if (def === undefined || def.instance === null) fail(`(e) the engine made ${name}, which is no instance of a template`);
      if (!(carried.get(def.instance)?.has(value) ?? false)) fail(`(e) ${name}: no event carried ${def.instance}=${value}`);
      if (!(model?.instances.get(template)?.has(name) ?? false)) fail(`(e) ${name} was made, but no condition of ${template} fired with ${def.instance}=${value}`);
      if (e.services.get(name)!.env?.[def.instance] !== value) fail(`(e) ${name}: its environment has ${def.instance}=${e.services.get(name)!.env?.[def.instance]}`);
      count("instance");
    }
    for (const name of known) if (!e.services.has(name)) known.delete(name);
  };

  return {
    beforeStep(fact) {
      if (fact.kind !== "event") return;
      for (const [key, value] of Object.entries(fact.values)) {
        let values = carried.get(key);
        if (values === undefined) carried.set(key, (values = new Set()));
        values.add(value);
      }
    },
    afterStep: checkInstances,
  };
}
