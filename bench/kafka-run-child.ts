/**
 * Child of bench/kafka.ts: NoBroker (rules only) through KafkaRunner with `untilEnd`. Prints, as
 * JSON, milliseconds since run() was called at which the first record reached the task, the end
 * of the input was seen (before the final snapshot commit) and run() resolved.
 */
import { nobroker } from "../examples/nobroker/pipeline.js";
import { KafkaRunner } from "../src/kafka/runner.js";

const [broker, dataDir] = process.argv.slice(2);
const runner = new KafkaRunner(nobroker({ tables: false, lake: false }), {
  broker,
  dataDir,
  untilEnd: true,
  logger: (m) => process.stderr.write(`kafka-run-child: ${m}\n`),
});
// Timestamps from the task itself: wrap its first processLine and its endOfInput (the runner calls
// both through the task object; the wrapper of processLine puts the original back at once).
const task = runner.currentTask;
const processLine = task.processLine;
const endOfInput = task.endOfInput;
let firstRecord = 0;
let endOfInputAt = 0;
task.processLine = function (...args: Parameters<typeof processLine>) {
  firstRecord = performance.now();
  task.processLine = processLine;
  return processLine.apply(task, args);
};
task.endOfInput = function () {
  endOfInputAt = performance.now();
  return endOfInput.apply(task);
};
const t0 = performance.now();
const summary = await runner.run();
const done = performance.now();
if (runner.currentTask !== task) throw new Error("the runner recovered during the run: timings do not hold");
process.stdout.write(
  JSON.stringify({
    firstRecord: firstRecord - t0,
    endOfInput: endOfInputAt - t0,
    done: done - t0,
    recordsIn: summary.recordsIn,
    recordsOut: summary.recordsOut,
  }),
);
