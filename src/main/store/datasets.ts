/**
 * The datasets index. Feature files stay in the on-disk feature store (one folder per dataset
 * under <dataDir>/datasets); this table says which folders are datasets, with what the views
 * need without opening them (dims, split sizes, label counts, how an OOD version was built).
 *
 * A folder becomes a dataset in one step: `commit` renames the finished store into place and
 * inserts its row in one transaction; if the insert fails the folder is removed again, so a
 * dataset is either fully there (row and folder) or not at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type {
  Dataset,
  DatasetDims,
  DatasetFormat,
  DatasetKind,
  DatasetSplit,
  LabelCounts,
  OodBuild,
} from '../../shared/contract/datasets';
import type { StagedDataset } from '../../shared/jobs';
import { nowIso, type Db } from './db';

interface Row {
  id: number;
  name: string;
  kind: DatasetKind;
  parent_id: number | null;
  format: DatasetFormat;
  source_files_json: string;
  folder: string;
  aligned: 0 | 1;
  dims_json: string;
  train_count: number;
  valid_count: number;
  test_count: number;
  label_counts_json: string;
  ood_record_json: string | null;
  extras_json: string;
  warnings_json: string;
  created_at: string;
}

const toDataset = (r: Row): Dataset => {
  const labels = JSON.parse(r.label_counts_json) as Record<DatasetSplit, LabelCounts>;
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    parentId: r.parent_id,
    format: r.format,
    sourceFiles: JSON.parse(r.source_files_json) as string[],
    folder: r.folder,
    aligned: r.aligned === 1,
    dims: JSON.parse(r.dims_json) as DatasetDims,
    splits: {
      train: { count: r.train_count, labels: labels.train },
      valid: { count: r.valid_count, labels: labels.valid },
      test: { count: r.test_count, labels: labels.test },
    },
    ood: r.ood_record_json === null ? null : (JSON.parse(r.ood_record_json) as OodBuild),
    extras: JSON.parse(r.extras_json) as string[],
    warnings: JSON.parse(r.warnings_json) as string[],
    createdAt: r.created_at,
  };
};

/** what a dataset job staged (the catalogue's StagedDataset), named and placed by the caller */
export type NewDataset = Pick<Dataset, 'name' | 'kind' | 'parentId'> & Omit<StagedDataset, 'staged'>;

/** A folder name from a dataset name: safe on every platform, unique through the prefix. */
export function datasetFolderName(prefix: string, name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[^\w.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 60)
    .toLowerCase();
  return slug ? `${prefix}-${slug}` : prefix;
}

export class DatasetStore {
  /** `root` is <dataDir>/datasets, where every dataset's folder lives */
  constructor(
    private readonly db: Db,
    readonly root: string,
  ) {}

  dir(d: Pick<Dataset, 'folder'>): string {
    return path.join(this.root, d.folder);
  }

  list(): Dataset[] {
    return (this.db.prepare('SELECT * FROM datasets ORDER BY COALESCE(parent_id, id), id').all() as Row[]).map(
      toDataset,
    );
  }

  get(id: number): Dataset {
    const row = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new AppError('NOT_FOUND', `dataset ${id} does not exist`);
    return toDataset(row);
  }

  /** by id (digits) or by name (case-insensitive), as the CLI takes it */
  find(idOrName: string): Dataset {
    const byName = this.db.prepare('SELECT * FROM datasets WHERE name = ?').get(idOrName) as Row | undefined;
    if (byName) return toDataset(byName);
    if (/^\d+$/.test(idOrName)) return this.get(Number(idOrName));
    throw new AppError('NOT_FOUND', `no dataset named "${idOrName}"`);
  }

  nameTaken(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM datasets WHERE name = ?').get(name) !== undefined;
  }

  children(id: number): Dataset[] {
    return (this.db.prepare('SELECT * FROM datasets WHERE parent_id = ? ORDER BY id').all(id) as Row[]).map(toDataset);
  }

  /**
   * Move a finished feature store from `from` to <root>/<folder> and record it, in one
   * transaction: the row is inserted only after the rename succeeded, and a failed insert (a name
   * taken meanwhile) removes the folder again.
   */
  commit(from: string, folder: string, d: NewDataset): Dataset {
    if (d.parentId !== null) this.get(d.parentId);
    const to = path.join(this.root, folder);
    if (fs.existsSync(to)) throw new AppError('CONFLICT', `${to} already exists; the dataset was not saved`);
    fs.mkdirSync(this.root, { recursive: true });
    let moved = false;
    const labels = { train: d.splits.train.labels, valid: d.splits.valid.labels, test: d.splits.test.labels };
    const insert = this.db.transaction((): number => {
      fs.renameSync(from, to);
      moved = true;
      const info = this.db
        .prepare(
          `INSERT INTO datasets (name, kind, parent_id, format, source_files_json, folder, aligned, dims_json, train_count, valid_count, test_count,
             label_counts_json, ood_record_json, extras_json, warnings_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          d.name,
          d.kind,
          d.parentId,
          d.format,
          JSON.stringify(d.sourceFiles),
          folder,
          d.aligned ? 1 : 0,
          JSON.stringify(d.dims),
          d.splits.train.count,
          d.splits.valid.count,
          d.splits.test.count,
          JSON.stringify(labels),
          d.ood === null ? null : JSON.stringify(d.ood),
          JSON.stringify(d.extras),
          JSON.stringify(d.warnings),
          nowIso(),
        );
      return Number(info.lastInsertRowid);
    });
    try {
      return this.get(insert.immediate());
    } catch (e) {
      if (moved) fs.rmSync(to, { recursive: true, force: true });
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AppError('CONFLICT', `a dataset named "${d.name}" already exists`);
      throw e;
    }
  }

  /** the runs trained on a dataset (by id, or by its folder for runs started on the folder) */
  runsUsing(id: number): { id: number; name: string; status: string }[] {
    const d = this.get(id);
    return this.db
      .prepare('SELECT id, name, status FROM runs WHERE dataset_id = ? OR dataset_folder = ? ORDER BY id')
      .all(id, this.dir(d)) as { id: number; name: string; status: string }[];
  }

  /**
   * Remove a dataset: its folder is first moved aside, then the row deleted; the folder is
   * deleted last, so a crash in between leaves at worst an orphan folder, never a row without data.
   * An IID dataset with OOD versions is refused until those are removed. A dataset runs use is
   * refused, naming them, unless `force`, which marks those runs (their error says the dataset was
   * removed, so a later evaluation or resume explains itself); a run training on it is never forced.
   */
  remove(id: number, opts: { force?: boolean } = {}): { markedRuns: number[] } {
    const d = this.get(id);
    const kids = this.children(id);
    if (kids.length)
      throw new AppError(
        'CONFLICT',
        `dataset "${d.name}" has OOD versions (${kids.map((k) => `"${k.name}"`).join(', ')}); remove them first`,
      );
    const users = this.runsUsing(id);
    const named = (rs: typeof users) => rs.map((r) => `${r.id} "${r.name}"`).join(', ');
    const active = users.filter((r) => r.status === 'queued' || r.status === 'running');
    if (active.length)
      throw new AppError(
        'CONFLICT',
        `dataset "${d.name}" is being used by training run(s) ${named(active)}; stop them first ("cider runs stop RUN")`,
      );
    if (users.length && !opts.force)
      throw new AppError(
        'CONFLICT',
        `dataset "${d.name}" is used by run(s) ${named(users)}; removing it would leave them unable to evaluate or resume. Remove with force (cider datasets remove --force) to do it anyway and mark those runs`,
      );
    const dir = this.dir(d);
    const trash = path.join(this.root, `.removing-${d.folder}-${process.pid}`);
    const present = fs.existsSync(dir);
    if (present) fs.renameSync(dir, trash);
    try {
      this.db.transaction(() => {
        const note = `its dataset "${d.name}" (id ${d.id}) was removed on ${new Date().toISOString().slice(0, 10)}`;
        const mark = this.db.prepare('SELECT error_json FROM runs WHERE id = ?');
        const set = this.db.prepare('UPDATE runs SET error_json = ? WHERE id = ?');
        for (const r of users) {
          const old = (mark.get(r.id) as { error_json: string | null }).error_json;
          const prev = old ? (JSON.parse(old) as { code: string; message: string }) : null;
          set.run(JSON.stringify({ code: 'DATASET_REMOVED', message: prev ? `${prev.message}; ${note}` : note }), r.id);
        }
        this.db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
      })();
    } catch (e) {
      if (present) fs.renameSync(trash, dir);
      throw e;
    }
    fs.rmSync(trash, { recursive: true, force: true });
    return { markedRuns: users.map((r) => r.id) };
  }
}
