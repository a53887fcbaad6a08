// Tracks every process the bench starts, so each is stopped after use and all are stopped on Ctrl-C.

export interface Stoppable {
  stop(): Promise<unknown>;
}

const open = new Set<Stoppable>();

/** Creates a resource, hands it to `use`, and stops it afterwards whatever happens. */
export async function using<R extends Stoppable, T>(
  create: () => Promise<R>,
  use: (resource: R) => Promise<T>,
): Promise<T> {
  const resource = await create();
  open.add(resource);
  try {
    return await use(resource);
  } finally {
    open.delete(resource);
    await resource.stop();
  }
}

/** Registers a resource started outside using() (several at once), so that Ctrl-C stops it too. */
export function track(resource: Stoppable): void {
  open.add(resource);
}

/** Forgets a tracked resource once it has been stopped. */
export function untrack(resource: Stoppable): void {
  open.delete(resource);
}

/** Stops whatever is still open (on a signal); never throws. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...open].map((resource) => resource.stop()));
  open.clear();
}
