/**
 * Child of bench/kafka.ts: NoBroker (rules only) through KafkaRunner with `untilEnd`. Prints, as
 * JSON, milliseconds since run() was called at which the first record reached the task, the end
 * of the input was seen (before the final snapshot commit) and run() resolved.
 */
import { nobroker } from "../examples/nobroker/pipeline.js";
import { KafkaRunner } from "../src/kafka/runner.js";

const [broker, dataDir] = process.argv.slice(2);
// Timestamps from the task itself: wrap its first processLine and its endOfInput.
let tasks = 0;
let firstRecord = 0;
let endOfInputAt = 0;
const runner = new KafkaRunner(nobroker({ tables: false, lake: false }), {
  broker,
  dataDir,
  untilEnd: true,
  logger: (m) => process.stderr.write(`kafka-run-child: ${m}\n`),
  onTask: (task) => {
    tasks++;
    const processLine = task.processLine;
    const endOfInput = task.endOfInput;
    task.processLine = function (...args: Parameters<typeof processLine>) {
      firstRecord ||= performance.now();
      task.processLine = processLine;
      return processLine.apply(task, args);
    };
    task.endOfInput = function () {
      endOfInputAt = performance.now();
      return endOfInput.apply(task);
    };
  },
});
const t0 = performance.now();
const summary = await runner.run();
const done = performance.now();
process.stdout.write(
  JSON.stringify({
    firstRecord: firstRecord - t0,
    endOfInput: endOfInputAt - t0,
    done: done - t0,
    recordsIn: summary.recordsIn,
    recordsOut: summary.recordsOut,
    tasks,
    firstRecordAt: performance.timeOrigin + firstRecord,
    doneAt: performance.timeOrigin + done,
  }),
);
