/** A load worker thread (./load.ts): runs one share of the load and posts its progress and result. */
import { parentPort, workerData } from "node:worker_threads";
import { Engine, type EngineOptions } from "./engine";

const engine = new Engine(workerData as EngineOptions);
parentPort?.on("message", (message) => {
  if (message === "stop") engine.stop();
});
const ticker = setInterval(() => parentPort?.postMessage({ progress: engine.counters }), 200);
engine.run().then((result) => {
  clearInterval(ticker);
  parentPort?.postMessage({ result });
});
