// The orchestrator is built in the run-execution issue; this entry exists so the workspace builds.
export {};
