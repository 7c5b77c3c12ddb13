import type { Project } from '../../shared/types';
import { AppError } from '../../shared/errors';
import { nowIso, type Db } from './db';

interface Row {
  id: number;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}
const toProject = (r: Row): Project => ({
  id: r.id,
  name: r.name,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class ProjectStore {
  constructor(private readonly db: Db) {}

  list(): Project[] {
    return (this.db.prepare('SELECT * FROM projects ORDER BY updated_at DESC, id DESC').all() as Row[]).map(toProject);
  }

  get(id: number): Project {
    const row = this.db.prepare('SELECT * FROM projects WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new AppError('NOT_FOUND', `project ${id} does not exist`);
    return toProject(row);
  }

  create(name: string, description = ''): Project {
    const now = nowIso();
    try {
      const info = this.db
        .prepare('INSERT INTO projects (name, description, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(name, description, now, now);
      return this.get(Number(info.lastInsertRowid));
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AppError('CONFLICT', `a project named "${name}" already exists`);
      throw e;
    }
  }

  update(id: number, patch: { name?: string; description?: string }): Project {
    const current = this.get(id);
    try {
      this.db
        .prepare('UPDATE projects SET name = ?, description = ?, updated_at = ? WHERE id = ?')
        .run(patch.name ?? current.name, patch.description ?? current.description, nowIso(), id);
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new AppError('CONFLICT', `a project named "${patch.name}" already exists`);
      throw e;
    }
    return this.get(id);
  }

  remove(id: number): void {
    const info = this.db.prepare('DELETE FROM projects WHERE id = ?').run(id);
    if (info.changes === 0) throw new AppError('NOT_FOUND', `project ${id} does not exist`);
  }
}

export class SettingsStore {
  constructor(private readonly db: Db) {}
  get<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value_json FROM settings WHERE key = ?').get(key) as
      { value_json: string } | undefined;
    return row ? (JSON.parse(row.value_json) as T) : undefined;
  }
  set(key: string, value: unknown): void {
    this.db
      .prepare(
        'INSERT INTO settings (key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json',
      )
      .run(key, JSON.stringify(value));
  }
}
