// The aims the report checks each figure against (issue 13: fast at the edges of the load). One
// entry per aim: the figure it reads (its benchmark, and its name and reference as printed), and
// what it must be. An aim whose figure no benchmark printed in this pass is listed as not measured,
// so that a missing figure is seen, not skipped: add the benchmark, the aim is already here.

export interface Aim {
  /** What is aimed at, in words. */
  label: string;
  /** The root script that prints the figure. */
  bench: string;
  /**
   * Matches the figure's name. Names carry the level measured (runs, clients), and the quick
   * profile's smaller levels are shown against the same aim, named, so that a quick pass says as
   * much as it can; the aim itself is stated at the full level.
   */
  name: RegExp;
  /** The figure's reference, by name; the ratio is then what is checked when `of` is 'ratio'. */
  reference?: string;
  /** Whether the aim bounds the figure's value or its ratio to its reference. */
  of: 'value' | 'ratio';
  /** The bound; without one the figure is only reported. */
  op?: '<=' | '>=';
  target?: number;
  /** Who measures it, while nobody does yet. */
  owner?: string;
}

export const AIMS: readonly Aim[] = [
  // 1. Latency when quiet.
  {
    label: 'quiet: at -> SSE client p50, 1,000 events/s over 10 runs, postgres bus',
    bench: 'bench:latency',
    name: /^at -> SSE client p50$/,
    reference: 'aim',
    of: 'value',
    op: '<=',
    target: 3,
  },
  {
    label: 'quiet: at -> SSE client p99, 1,000 events/s over 10 runs, postgres bus',
    bench: 'bench:latency',
    name: /^at -> SSE client p99$/,
    reference: 'aim',
    of: 'value',
    op: '<=',
    target: 15,
  },
  // 2. Concurrency: 3,000 runs on 4 run-workers and 100 connections.
  {
    label: '3,000 runs: delivered rate while every run is live, of the offered rate',
    bench: 'bench:e2e',
    name: /^postgres bus, \d+ runs: delivered rate/,
    reference: 'offered',
    of: 'ratio',
    op: '>=',
    target: 0.9,
  },
  {
    label: '3,000 runs: each run delivered at its offered rate',
    bench: 'bench:e2e',
    name: /^postgres bus, \d+ runs: delivered rate per run$/,
    reference: 'offered',
    of: 'ratio',
    op: '>=',
    target: 0.9,
  },
  {
    label: '3,000 runs: all live at once',
    bench: 'bench:e2e',
    name: /^postgres bus, \d+ runs: runs live at once at the peak$/,
    reference: 'runs',
    of: 'ratio',
    op: '>=',
    target: 1,
  },
  {
    label: '3,000 runs: at -> client p99',
    bench: 'bench:e2e',
    name: /^postgres bus, \d+ runs: at -> client p99$/,
    reference: 'aim',
    of: 'value',
    op: '<=',
    target: 250,
  },
  {
    label: '3,000 runs: every stream exact (events lost)',
    bench: 'bench:e2e',
    name: /^postgres bus, \d+ runs: events lost$/,
    of: 'value',
    op: '<=',
    target: 0,
  },
  {
    label: '3,000 runs: every stream exact (repeated or out of order)',
    bench: 'bench:e2e',
    name: /^postgres bus, \d+ runs: repeated or out of order$/,
    of: 'value',
    op: '<=',
    target: 0,
  },
  {
    label: '3,000 runs: the processes within 100 connections',
    bench: 'bench:e2e',
    name: /^postgres bus, \d+ runs: peak database connections/,
    reference: 'limit',
    of: 'ratio',
    op: '<=',
    target: 1,
  },
  // 3. Arrival storms.
  {
    label: 'storm: 1,000 clients on one live run, delivery p99 after the storm',
    bench: 'bench:storm',
    name: /^storm of \d+ clients: delivery p99 after the storm$/,
    reference: 'aim',
    of: 'value',
    op: '<=',
    target: 250,
  },
  {
    label: 'storm: api RSS per client at the peak',
    bench: 'bench:storm',
    name: /^storm of \d+ clients: api RSS per client at the peak$/,
    reference: 'aim',
    of: 'value',
    op: '<=',
    target: 50,
  },
  {
    label: 'storm: every client gets every event (events missed)',
    bench: 'bench:storm',
    name: /^storm of \d+ clients: events missed$/,
    of: 'value',
    op: '<=',
    target: 0,
  },
  {
    label: 'storm: one database read per run serves the waiting streams',
    bench: 'bench:storm',
    name: /^storm of \d+ clients: run_events reads during the storm$/,
    reference: 'clients',
    of: 'ratio',
    op: '<=',
    target: 0.1,
  },
  // 4. Appends (measured by bench:persistence).
  {
    label: 'single-event append, of a raw autocommit 1-row INSERT',
    bench: 'bench:persistence',
    name: /^single-event append \(repo\)$/,
    reference: 'raw autocommit 1-row INSERT (floor)',
    of: 'ratio',
    op: '>=',
    target: 0.8,
    owner: 'the appends item',
  },
  {
    label: '100-event batch append, of a raw 100-row INSERT',
    bench: 'bench:persistence',
    name: /^100-event batch append \(repo\)$/,
    reference: 'raw 100-row INSERT (floor)',
    of: 'ratio',
    op: '>=',
    target: 0.5,
    owner: 'the appends item',
  },
  // 5. Beyond one machine: 2 of each process against 1 of each on NATS, per-process rates.
  {
    label: 'scaling: 2 of each process on NATS, of 1 of each (events/s)',
    bench: 'bench:scaling',
    name: /^2 of each process/,
    of: 'ratio',
    owner: 'the scaling item (docs/scaling.md)',
  },
];
