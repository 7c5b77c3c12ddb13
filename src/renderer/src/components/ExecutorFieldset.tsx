/**
 * "Where the trials run": the executor setting of every multi-run job (search, ablation, robustness
 * over several runs), with the sbatch script shown before a SLURM submission. The job's form owns
 * the values (state/executor.ts); `label` prefixes the accessible names when two of these share a
 * page ("Ablation executor" beside the search's "Executor").
 */
import type { ExecutorForm } from '../state/executor';

export function ExecutorFieldset({
  value: f,
  onChange,
  onPreview,
  preview,
  disabled = false,
  label = '',
  what = 'trials',
}: {
  value: ExecutorForm;
  onChange: (patch: Partial<ExecutorForm>) => void;
  /** ask for the sbatch script of the current settings */
  onPreview: () => void;
  /** the script, once asked for (null: not shown) */
  preview: string | null;
  /** the settings are not valid yet: no preview */
  disabled?: boolean;
  label?: string;
  /** what runs on the cluster, for the legend ("trials", "variants", "runs' sweeps") */
  what?: string;
}) {
  // "Ablation executor", "Ablation GPUs per task"
  const name = (text: string) =>
    label ? `${label} ${/^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text}` : text;
  const text = (k: 'partition' | 'time' | 'mem' | 'sharedDir' | 'queueUrl', title: string, placeholder: string) => (
    <label>
      {title}
      <input
        type="text"
        aria-label={name(title)}
        placeholder={placeholder}
        value={f[k]}
        onChange={(e) => onChange({ [k]: e.target.value })}
      />
    </label>
  );
  const num = (k: 'cpusPerTask' | 'gpus', title: string) => (
    <label>
      {title}
      <input
        type="number"
        aria-label={name(title)}
        value={Number.isFinite(f[k]) ? f[k] : ''}
        onChange={(e) => onChange({ [k]: e.target.value === '' ? NaN : Number(e.target.value) })}
      />
    </label>
  );
  return (
    <fieldset className="executor">
      <legend>Where the {what} run</legend>
      <label>
        Executor
        <select
          aria-label={name('Executor')}
          value={f.executor}
          onChange={(e) => onChange({ executor: e.target.value as ExecutorForm['executor'] })}
        >
          <option value="local">this machine</option>
          <option value="slurm">SLURM cluster (job array)</option>
          <option value="queue">job queue (Redis, cider worker)</option>
        </select>
      </label>
      {f.executor === 'slurm' ? (
        <>
          {text('partition', 'Partition', 'cluster default')}
          {text('time', 'Time limit', 'e.g. 04:00:00')}
          {num('cpusPerTask', 'CPUs per task')}
          {text('mem', 'Memory per task', 'e.g. 8G')}
          {num('gpus', 'GPUs per task')}
          {text('sharedDir', 'Shared folder', 'data folder/cluster')}
          <button type="button" onClick={onPreview} disabled={disabled}>
            {label ? `Show ${label.toLowerCase()} sbatch script` : 'Show sbatch script'}
          </button>
          <p className="muted">
            Runs `cider trial run` on the compute nodes: the same app version must be installed there, and the data,
            dataset, BERT and shared folders must be at the same paths.
          </p>
        </>
      ) : null}
      {f.executor === 'queue' ? (
        <>
          {text('queueUrl', 'Queue', 'redis://HOST:6379')}
          <p className="muted">
            Start `cider worker --queue {f.queueUrl || 'redis://HOST:PORT'}` on each machine that should take them.
          </p>
        </>
      ) : null}
      {preview ? (
        <pre
          className="sbatch-preview"
          data-testid={label ? `${label.toLowerCase()}-sbatch-preview` : 'sbatch-preview'}
        >
          {preview}
        </pre>
      ) : null}
    </fieldset>
  );
}
