import type { Api } from '../../../shared/api';
import type { JobRecord } from '../../../shared/types';

export function JobList({ api, jobs }: { api: Api; jobs: JobRecord[] }) {
  if (!jobs.length) return <p className="muted">No jobs yet.</p>;
  return (
    <table className="jobs" data-testid="job-list">
      <thead>
        <tr>
          <th>#</th>
          <th>kind</th>
          <th>status</th>
          <th>progress</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.id} data-testid={`job-${j.id}`} data-status={j.status}>
            <td>{j.id}</td>
            <td>{j.kind}</td>
            <td className={`status ${j.status}`}>{j.status}</td>
            <td className="job-progress">
              <progress max={1} value={j.progress.fraction ?? undefined} /> {j.progress.message}
              {j.error ? <span className="error"> {j.error.message}</span> : null}
            </td>
            <td>
              {j.status === 'running' || j.status === 'queued' ? (
                <button onClick={() => void api.jobs.cancel({ id: j.id })}>Cancel</button>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
