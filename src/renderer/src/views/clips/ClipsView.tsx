/**
 * The Clips view: import videos (paths on the machine the app runs on), extract features, the clip
 * list with which modalities each clip has, the player, the annotation panel for the chosen
 * annotator, and the agreement between annotators (per clip and for the project).
 */
import { useCallback, useEffect, useReducer, useState, type FormEvent } from 'react';
import type { Api } from '../../../../shared/api';
import type { Annotator, Clip, ClipDetail, ImportResult, Modality, ProjectAgreement } from '../../../../shared/clips';
import type { Transport } from '../../api/client';
import { AnnotationPanel } from './AnnotationPanel';
import { ClipPlayer } from './ClipPlayer';
import './clips.css';

interface ViewData {
  clips: Clip[];
  annotators: Annotator[];
  agreement: ProjectAgreement | null;
  detail: ClipDetail | null;
  error: string | null;
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));

function ModalityBadge({ clip, m }: { clip: Clip; m: Modality }) {
  const s = clip.modalities[m];
  return (
    <span
      className={`badge ${s.available ? 'present' : 'missing'}`}
      title={
        s.reason ??
        (s.features ? `${s.features.frames} x ${s.features.dims} (${s.features.version})` : 'not extracted yet')
      }
      data-testid={`modality-${m}`}
    >
      {s.available ? m : `no ${m}`}
      {s.available && !s.features ? ' ?' : ''}
    </span>
  );
}

export function ClipsView({ api, transport, projectId }: { api: Api; transport: Transport; projectId: number | null }) {
  // what the server says, merged in by one reducer (loads land from effects and events)
  const [data, update] = useReducer((s: ViewData, patch: Partial<ViewData>) => ({ ...s, ...patch }), {
    clips: [],
    annotators: [],
    agreement: null,
    detail: null,
    error: null,
  });
  const { clips, annotators, agreement } = data;
  const [selected, setSelected] = useState<number | null>(null);
  const detail = data.detail && data.detail.id === selected ? data.detail : null;
  const [annotatorId, setAnnotatorId] = useState<number | null>(null);
  const [paths, setPaths] = useState('');
  const [bertDir, setBertDir] = useState('');
  const [newAnnotator, setNewAnnotator] = useState('');
  const [lastImport, setLastImport] = useState<ImportResult | null>(null);
  const error = data.error;
  const setError = (message: string | null) => update({ error: message });
  const [extractJob, setExtractJob] = useState<{
    id: number;
    status: string;
    message: string;
    fraction: number | null;
  } | null>(null);

  const reload = useCallback(async () => {
    if (projectId === null) return;
    try {
      const [c, a, g] = await Promise.all([
        api.clips.list({ projectId }),
        api.clips.annotators({ projectId }),
        api.clips.agreement({ projectId }),
      ]);
      update({ clips: c, annotators: a, agreement: g });
    } catch (e) {
      update({ error: (e as Error).message });
    }
  }, [api, projectId]);

  useEffect(() => {
    void reload();
    return transport.onEvent((e) => {
      if (e.type === 'clips.changed' && e.projectId === projectId) void reload();
      else if (e.type === 'job.updated' && e.job.kind === 'clips.extract' && e.job.projectId === projectId)
        setExtractJob({
          id: e.job.id,
          status: e.job.status,
          message: e.job.progress.message,
          fraction: e.job.progress.fraction,
        });
    });
  }, [transport, reload, projectId]);

  useEffect(() => {
    if (selected === null) return;
    let live = true;
    api.clips.get({ id: selected }).then(
      (d) => live && update({ detail: d }),
      (e: Error) => live && update({ error: e.message }),
    );
    return () => {
      live = false;
    };
  }, [api, selected, clips]);

  if (projectId === null) return <p>Choose or create a project in the Library first.</p>;

  const doImport = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const r = await api.clips.import({
        projectId,
        paths: paths
          .split('\n')
          .map((p) => p.trim())
          .filter(Boolean),
      });
      setLastImport(r);
      setError(null);
      await reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const extract = async () => {
    try {
      const job = await api.clips.extract({ projectId, bertDir: bertDir.trim() || undefined });
      setExtractJob({ id: job.id, status: job.status, message: 'queued', fraction: 0 });
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const addAnnotator = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const a = await api.clips.addAnnotator({ projectId, name: newAnnotator });
      setNewAnnotator('');
      setAnnotatorId(a.id);
      await reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const annotator = annotators.find((a) => a.id === annotatorId) ?? null;
  const clipAgreement = agreement?.clips.find((c) => c.clipId === selected) ?? null;

  return (
    <div className="clips-view">
      <section className="clips-side" aria-label="Clips">
        <form onSubmit={doImport} className="clips-import" aria-label="Import clips">
          <textarea
            aria-label="Video paths"
            placeholder="Video files or folders, one per line"
            rows={3}
            value={paths}
            onChange={(e) => setPaths(e.target.value)}
          />
          <button type="submit" disabled={!paths.trim()}>
            Import clips
          </button>
        </form>
        {lastImport ? (
          <div data-testid="import-result">
            <p>
              {lastImport.imported.length} imported, {lastImport.skipped.length} already there,{' '}
              {lastImport.failed.length} failed
            </p>
            <ul className="failures">
              {lastImport.failed.map((f) => (
                <li key={f.file} className="error" data-testid="import-failure">
                  {f.message}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        <div className="clips-extract">
          <input
            aria-label="BERT folder"
            placeholder="BERT folder (for text)"
            title="a BERT model folder with vocab.txt; without one the text stream is skipped"
            value={bertDir}
            onChange={(e) => setBertDir(e.target.value)}
          />
          <button onClick={() => void extract()} disabled={!clips.length}>
            Extract features
          </button>
          {extractJob ? (
            <span data-testid="extract-status" data-status={extractJob.status}>
              {extractJob.status} {extractJob.fraction !== null ? `${Math.round(extractJob.fraction * 100)}%` : ''}{' '}
              {extractJob.message}
              {extractJob.status === 'running' ? (
                <button onClick={() => void api.jobs.cancel({ id: extractJob.id })}>Cancel</button>
              ) : null}
            </span>
          ) : null}
        </div>
        <ul className="clip-list" data-testid="clip-list">
          {clips.map((c) => (
            <li key={c.id}>
              <button
                className={c.id === selected ? 'selected' : ''}
                onClick={() => setSelected(c.id)}
                data-testid="clip-item"
              >
                <span className="clip-name">{c.name}</span> <span className="muted">{c.durationSec.toFixed(1)} s</span>
                <span className="badges">
                  <ModalityBadge clip={c} m="text" />
                  <ModalityBadge clip={c} m="audio" />
                  <ModalityBadge clip={c} m="vision" />
                </span>
              </button>
            </li>
          ))}
        </ul>
        <section className="agreement" aria-label="Project agreement" data-testid="project-agreement">
          <h3>Agreement</h3>
          {agreement && agreement.units ? (
            <ul>
              <li>
                Krippendorff&apos;s alpha (interval): <span data-testid="alpha">{fmt(agreement.alphaInterval)}</span>
              </li>
              <li>
                {agreement.kappa3?.method === 'fleiss' ? "Fleiss'" : "Cohen's"} kappa 3-class:{' '}
                <span data-testid="kappa3">{fmt(agreement.kappa3?.value)}</span>, 7-class:{' '}
                {fmt(agreement.kappa7?.value)}
              </li>
              <li>units rated by two or more annotators: {agreement.units}</li>
            </ul>
          ) : (
            <p className="muted">needs two annotators on the same clips</p>
          )}
        </section>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
      </section>
      <section className="clip-detail" aria-label="Clip">
        {detail ? (
          <>
            <h2 data-testid="clip-title">{detail.name}</h2>
            <p className="muted">
              {detail.width}x{detail.height}, {detail.fps ?? '?'} fps, {detail.videoCodec}
              {detail.hasAudio ? `, ${detail.audioCodec} ${detail.audioRate} Hz` : ', no audio track'}; transcript:{' '}
              {detail.transcript
                ? `${detail.transcript.format}${detail.transcript.timed ? ', timed' : ', untimed'}`
                : 'none'}
            </p>
            <ClipPlayer key={detail.id} api={api} clip={detail} />
            <div className="annotator-bar">
              <label>
                Annotator{' '}
                <select
                  aria-label="Annotator"
                  value={annotatorId ?? ''}
                  onChange={(e) => setAnnotatorId(e.target.value ? Number(e.target.value) : null)}
                >
                  <option value="">choose...</option>
                  {annotators.map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.name}
                    </option>
                  ))}
                </select>
              </label>
              <form onSubmit={addAnnotator} aria-label="New annotator">
                <input
                  aria-label="New annotator name"
                  placeholder="new annotator"
                  value={newAnnotator}
                  onChange={(e) => setNewAnnotator(e.target.value)}
                />
                <button type="submit" disabled={!newAnnotator.trim()}>
                  Add annotator
                </button>
              </form>
            </div>
            {annotator ? (
              <AnnotationPanel key={`${detail.id}-${annotator.id}`} api={api} clip={detail} annotator={annotator} />
            ) : (
              <p className="muted">Choose an annotator to label this clip.</p>
            )}
            <div className="clip-agreement" data-testid="clip-agreement">
              {clipAgreement ? (
                <span>
                  this clip: mean {fmt(clipAgreement.meanScore, 2)}, range {fmt(clipAgreement.scoreRange, 2)}, same
                  3-class {fmt(clipAgreement.pairAgreement3, 2)}, same 7-class {fmt(clipAgreement.pairAgreement7, 2)}
                </span>
              ) : (
                <span className="muted">no scores on this clip yet</span>
              )}
            </div>
          </>
        ) : (
          <p>{clips.length ? 'Choose a clip.' : 'No clips yet: import some videos.'}</p>
        )}
      </section>
    </div>
  );
}
