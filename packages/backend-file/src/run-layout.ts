import { join } from 'node:path';
import { headerFileName } from './header-file.js';

/**
 * Where everything lives under the backend's directory:
 * `runs/<runId>/{headers/<seq>-<id>.json, packs/<time>-<random>.pack, lease.json, lock/}` (and the previous
 * layout's `blobs/<hash>`), the runtime's
 * `runs/<runId>/{events/<first>-<last>.ndjson, inbox/<key>.json, inbox/consumed/<key>.json}`, plus two
 * indexes of hard links to the header files, `ids/<id>` and `flows/<flowId>/<id>`, so lookups by id
 * and by flow need no scan of every run.
 */
export class RunLayout {
  constructor(readonly root: string) {}

  get runsDir(): string {
    return join(this.root, 'runs');
  }
  get idsDir(): string {
    return join(this.root, 'ids');
  }
  get flowsDir(): string {
    return join(this.root, 'flows');
  }
  runDir(runId: string): string {
    return join(this.runsDir, runId);
  }
  headersDir(runId: string): string {
    return join(this.runDir(runId), 'headers');
  }
  headerPath(runId: string, seq: number, id: string): string {
    return join(this.headersDir(runId), headerFileName(seq, id));
  }
  packsDir(runId: string): string {
    return join(this.runDir(runId), 'packs');
  }
  /** The previous layout's one file per blob: read and collected, no longer written. */
  blobsDir(runId: string): string {
    return join(this.runDir(runId), 'blobs');
  }
  leasePath(runId: string): string {
    return join(this.runDir(runId), 'lease.json');
  }
  lockDir(runId: string): string {
    return join(this.runDir(runId), 'lock');
  }
  eventsDir(runId: string): string {
    return join(this.runDir(runId), 'events');
  }
  inboxDir(runId: string): string {
    return join(this.runDir(runId), 'inbox');
  }
  consumedDir(runId: string): string {
    return join(this.inboxDir(runId), 'consumed');
  }
  idLink(id: string): string {
    return join(this.idsDir, id);
  }
  flowDir(flowId: string): string {
    return join(this.flowsDir, flowId);
  }
  flowLink(flowId: string, id: string): string {
    return join(this.flowDir(flowId), id);
  }
}
