/**
 * The Clips view: import videos (chosen with the native dialog, or the server's file browser in web
 * mode), extract features, the clip list (with ids) and which modalities each clip has, the player
 * with the chosen annotator's tier lane, the annotation panel, exchange (EAF export/import per clip,
 * CSV and dataset export per project), and the agreement between annotators, per tier too.
 */
import { useCallback, useEffect, useReducer, useState, type FormEvent } from 'react';
import type { Api } from '../../../../shared/api';
import type {
  Annotator,
  Clip,
  ClipDetail,
  DatasetExportResult,
  ImportResult,
  Modality,
  ProjectAgreement,
} from '../../../../shared/clips';
import type { Tier, TierAgreement } from '../../../../shared/tiers';
import type { Transport } from '../../api/client';
import { FileChooser } from '../../components/FileChooser';
import { AnnotationPanel } from './AnnotationPanel';
import { TierEditor } from './TierEditor';
import './clips.css';

interface ViewData {
  clips: Clip[];
  annotators: Annotator[];
  agreement: ProjectAgreement | null;
  tiers: Tier[];
  tierAgreement: TierAgreement[];
  detail: ClipDetail | null;
  error: string | null;
}

function TierFigures({
  t,
}: {
  t: Omit<TierAgreement, 'tierId' | 'tierName' | 'kind' | 'clips'> & { kind: Tier['kind'] };
}) {
  if (t.kind === 'text') return <span className="muted">free text: {t.units} units coded by two or more</span>;
  return (
    <span>
      {t.kind === 'score' ? (
        <>alpha (interval) {fmt(t.alphaInterval)}</>
      ) : (
        <>
          alpha (nominal) {fmt(t.alphaNominal)}, {t.kappa?.method === 'fleiss' ? "Fleiss'" : "Cohen's"} kappa{' '}
          {fmt(t.kappa?.value)} over {t.kappa?.units ?? 0} units
        </>
      )}
      ; {t.units} units, {t.annotators} annotators
    </span>
  );
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
    tiers: [],
    tierAgreement: [],
    detail: null,
    error: null,
  });
  const { clips, annotators, agreement, tiers, tierAgreement } = data;
  const [exchange, setExchange] = useState<string | null>(null);
  const [datasetName, setDatasetName] = useState('');
  const [exported, setExported] = useState<DatasetExportResult | null>(null);
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
      const [c, a, g, t, ta] = await Promise.all([
        api.clips.list({ projectId }),
        api.clips.annotators({ projectId }),
        api.clips.agreement({ projectId }),
        api.clips.tiers({ projectId }),
        api.clips.tierAgreement({ projectId }),
      ]);
      update({ clips: c, annotators: a, agreement: g, tiers: t, tierAgreement: ta });
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
  const run = async (what: () => Promise<string>) => {
    try {
      setExchange(await what());
      setError(null);
    } catch (err) {
      setExchange(null);
      setError((err as Error).message);
    }
  };
  const exportDataset = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setExported(await api.clips.exportDataset({ projectId, name: datasetName.trim() }));
      setError(null);
    } catch (err) {
      setExported(null);
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
          <span className="row">
            <FileChooser
              api={api}
              kind="fileOrFolder"
              multiple
              label="Browse..."
              title="Choose videos or folders"
              onChoose={(ps) => setPaths((old) => [old.trim(), ...ps].filter(Boolean).join('\n'))}
            />
            <button type="submit" disabled={!paths.trim()}>
              Import clips
            </button>
          </span>
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
          <FileChooser
            api={api}
            kind="folder"
            label="Choose BERT folder..."
            title="Choose a BERT model folder (with vocab.txt)"
            onChoose={([p]) => setBertDir(p)}
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
                <span className="clip-id" data-testid="clip-id">
                  #{c.id}
                </span>{' '}
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
            <p className="muted">clip scores: needs two annotators on the same clips</p>
          )}
          <h4>Per tier</h4>
          <ul data-testid="tier-agreement">
            {tierAgreement.map((t) => (
              <li key={t.tierId} data-testid={`tier-agreement-${t.tierName}`}>
                <strong>{t.tierName}</strong>: <TierFigures t={t} />
              </li>
            ))}
          </ul>
        </section>
        <section className="project-exchange" aria-label="Project exchange">
          <h3>Exchange</h3>
          <FileChooser
            api={api}
            kind="save"
            label="Export CSV..."
            title="Save all annotations as CSV"
            defaultName="annotations.csv"
            extensions={['csv']}
            onChoose={([p]) =>
              void run(async () => `CSV written to ${(await api.clips.exportCsv({ projectId, path: p })).path}`)
            }
          />
          <form onSubmit={(e) => void exportDataset(e)} aria-label="Export dataset" className="row">
            <input
              aria-label="Dataset name"
              placeholder="dataset name"
              value={datasetName}
              onChange={(e) => setDatasetName(e.target.value)}
            />
            <button type="submit" disabled={!datasetName.trim() || !clips.length}>
              Export dataset
            </button>
          </form>
          {exported ? (
            <div data-testid="dataset-export">
              <p>
                dataset "{exported.name}" ({exported.aligned ? 'aligned' : 'unaligned'}): train {exported.counts.train},
                valid {exported.counts.valid}, test {exported.counts.test}
              </p>
              <ul>
                {(['train', 'valid', 'test'] as const).map((k) => (
                  <li key={k}>
                    {k}: clips {exported.clipIds[k].map((id) => `#${id}`).join(', ') || 'none'}
                  </li>
                ))}
              </ul>
              {exported.warnings.map((w) => (
                <p key={w} className="muted">
                  {w}
                </p>
              ))}
            </div>
          ) : null}
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
            <h2 data-testid="clip-title">
              {detail.name} <span className="muted clip-id">clip #{detail.id}</span>
            </h2>
            <p className="muted">
              {detail.width}x{detail.height}, {detail.fps ?? '?'} fps, {detail.videoCodec}
              {detail.hasAudio ? `, ${detail.audioCodec} ${detail.audioRate} Hz` : ', no audio track'}; transcript:{' '}
              {detail.transcript
                ? `${detail.transcript.format}${detail.transcript.timed ? ', timed' : ', untimed'}`
                : 'none'}
            </p>
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
            <TierEditor
              key={detail.id}
              api={api}
              clip={detail}
              annotator={annotator}
              tiers={tiers}
              onTiersChanged={() => void reload()}
            />
            <div className="clip-exchange" aria-label="Clip exchange">
              <FileChooser
                api={api}
                kind="save"
                label="Export EAF..."
                title={`Save clip #${detail.id} as ELAN .eaf`}
                defaultName={`${detail.name.replace(/\.[^.]+$/, '')}.eaf`}
                extensions={['eaf']}
                onChoose={([p]) =>
                  void run(
                    async () =>
                      `clip #${detail.id}: EAF written to ${(await api.clips.exportEaf({ id: detail.id, path: p })).path}`,
                  )
                }
              />
              <FileChooser
                api={api}
                kind="file"
                label="Import EAF..."
                title={`Read an ELAN .eaf into clip #${detail.id}`}
                extensions={['eaf']}
                onChoose={([p]) =>
                  void run(async () => {
                    const r = await api.clips.importEaf({ id: detail.id, path: p });
                    await reload();
                    return `clip #${detail.id}: read ${r.tierSegments} tier segments (${r.tiers.join(', ') || 'no tiers'}), ${r.annotations} clip labels${r.ignoredTiers.length ? `; ignored tiers: ${r.ignoredTiers.join(', ')}` : ''}`;
                  })
                }
              />
              {exchange ? (
                <span className="muted" data-testid="exchange-result">
                  {exchange}
                </span>
              ) : null}
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
              <ul>
                {tierAgreement.flatMap((t) =>
                  t.clips
                    .filter((c) => c.clipId === detail.id)
                    .map((c) => (
                      <li key={t.tierId}>
                        tier {t.tierName}: <TierFigures t={{ ...c, kind: t.kind }} />
                      </li>
                    )),
                )}
              </ul>
            </div>
          </>
        ) : (
          <p>{clips.length ? 'Choose a clip.' : 'No clips yet: import some videos.'}</p>
        )}
      </section>
    </div>
  );
}
