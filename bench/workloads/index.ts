// Every workload, in the order the bench runs them. Add a workload by writing a
// module here that exports a Workload and listing it below.

import type { Workload } from "../lib/workload.js";
import { check10k } from "./check-10k.js";
import { container } from "./container.js";
import { recorder } from "./recorder.js";
import { startup } from "./startup.js";
import { w1Flat } from "./w1-flat.js";
import { w2Dag } from "./w2-dag.js";
import { w3Status } from "./w3-status.js";
import { w4Events } from "./w4-events.js";
import { w5Flood } from "./w5-flood.js";
import { w6Readopt } from "./w6-readopt.js";

export const WORKLOADS: readonly Workload[] = [startup, check10k, w1Flat, recorder, w2Dag, w3Status, w4Events, w5Flood, w6Readopt, container];
