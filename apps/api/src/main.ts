// Skeleton: the api process is built in its own issue. It starts and stops cleanly meanwhile.
const timer = setInterval(() => undefined, 1 << 30);
const stop = (): void => {
  clearInterval(timer);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
