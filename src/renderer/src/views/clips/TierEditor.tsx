/**
 * The player with the chosen annotator's track on the chosen tier as its bottom lane, coded from the
 * keyboard like NOVA (the shortcut list is on screen) or with the mouse, with undo/redo and
 * autosave; the track's segments as a list with their value fields; new tiers.
 */
import { useCallback, useEffect, useReducer, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { Api } from '../../../../shared/api';
import type { Annotator, ClipDetail } from '../../../../shared/clips';
import {
  parseLabels,
  TIER_KIND_LABELS,
  TIER_KINDS,
  type Tier,
  type TierKind,
  type TierValue,
} from '../../../../shared/tiers';
import {
  initialSegments,
  isSegmentsDirty,
  segmentInputs,
  segmentReducer,
  selectedSegment,
  valueForDigit,
  wordBoundaries,
} from '../../state/segmentEditor';
import { ClipPlayer, type LaneView, type PlayerKeys } from './ClipPlayer';
import { ScoreField } from './ScoreField';
import { UndoControls } from '../../components/UndoControls';

const AUTOSAVE_MS = 500;

export const SHORTCUTS: [string, string][] = [
  ['Space', 'play / pause'],
  ['← →', 'one frame back / on (Shift: one second)'],
  ['[ ]', 'slower / faster'],
  ['I', 'mark in at the playhead'],
  ['O', 'mark out: creates the segment'],
  ['Shift+I / Shift+O', "move the selected segment's start / end to the playhead"],
  ['N / P', 'next / previous segment (the playhead jumps to it)'],
  ['1 .. 7', 'score -3 .. +3 (4 is 0); on a category tier: label 1 .. 9'],
  ['0', 'clear the value'],
  ['S', 'split the segment at the playhead'],
  ['M', 'merge the selected segment with the next'],
  ['Delete', 'delete the selected segment'],
  ['Ctrl+Z / Ctrl+Shift+Z', 'undo / redo'],
  ['drag', 'on the tier lane: create; drag a segment to move it, its edge to resize'],
];

const fmtTime = (t: number) => t.toFixed(3);

function NewTierForm({ api, projectId, onCreated }: { api: Api; projectId: number; onCreated(t: Tier): void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<TierKind>('category');
  const [labels, setLabels] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let list: string[] = [];
    if (kind === 'category') {
      const p = parseLabels(labels);
      if (!p.ok) {
        setError(p.message);
        return;
      }
      list = p.value;
    }
    try {
      const t = await api.clips.createTier({ projectId, name, kind, labels: list });
      setName('');
      setLabels('');
      setError(null);
      onCreated(t);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form className="new-tier" onSubmit={(e) => void submit(e)} aria-label="New tier">
      <input aria-label="Tier name" placeholder="new tier" value={name} onChange={(e) => setName(e.target.value)} />
      <select aria-label="Tier type" value={kind} onChange={(e) => setKind(e.target.value as TierKind)}>
        {TIER_KINDS.map((k) => (
          <option key={k} value={k}>
            {TIER_KIND_LABELS[k]}
          </option>
        ))}
      </select>
      {kind === 'category' ? (
        <input
          aria-label="Tier labels"
          placeholder="labels, comma-separated"
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
        />
      ) : null}
      <button type="submit" disabled={!name.trim()}>
        Add tier
      </button>
      {error ? (
        <span className="field-error" role="alert" data-testid="tier-error">
          {error}
        </span>
      ) : null}
    </form>
  );
}

export function TierEditor({
  api,
  clip,
  annotator,
  tiers,
  onTiersChanged,
}: {
  api: Api;
  clip: ClipDetail;
  annotator: Annotator | null;
  tiers: Tier[];
  onTiersChanged(): void;
}) {
  const [tierId, setTierId] = useState<number | null>(null);
  const tier = tiers.find((t) => t.id === tierId) ?? tiers[0] ?? null;
  const [state, dispatch] = useReducer(segmentReducer, initialSegments);
  const [time, setTime] = useState(0);
  const seekRef = useRef<((t: number) => void) | null>(null);
  const jumpToSelection = useRef(false);

  useEffect(() => {
    if (!annotator || !tier) return;
    let live = true;
    api.clips.segments({ clipId: clip.id, tierId: tier.id, annotatorId: annotator.id }).then(
      (segments) =>
        live &&
        dispatch({
          type: 'load',
          clipId: clip.id,
          tier,
          annotatorId: annotator.id,
          duration: clip.durationSec,
          snapPoints: wordBoundaries(clip.words),
          segments,
          cues: clip.transcript?.segments ?? [],
        }),
      (e: Error) => live && dispatch({ type: 'saveFailed', message: e.message }),
    );
    return () => {
      live = false;
    };
    // the tier object changes identity on every reload; its id and labels are what matter
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, clip.id, tier?.id, tier?.labels.join('\n'), annotator?.id]);

  const loaded =
    !!annotator && !!tier && state.clipId === clip.id && state.tierId === tier.id && state.annotatorId === annotator.id;

  useEffect(() => {
    if (!loaded || !isSegmentsDirty(state) || state.saving) return;
    const revision = state.revision;
    const segments = segmentInputs(state);
    const timer = setTimeout(() => {
      dispatch({ type: 'saving' });
      api.clips.saveSegments({ clipId: clip.id, tierId: tier!.id, annotatorId: annotator!.id, segments }).then(
        () => dispatch({ type: 'saved', revision }),
        (e: Error) => dispatch({ type: 'saveFailed', message: e.message }),
      );
    }, AUTOSAVE_MS);
    return () => clearTimeout(timer);
  }, [api, state, loaded, clip.id, tier, annotator]);

  useEffect(() => {
    if (!jumpToSelection.current) return;
    jumpToSelection.current = false;
    const s = selectedSegment(state);
    if (s) seekRef.current?.(s.start);
  }, [state]);

  const selected = selectedSegment(state);
  const underPlayhead = state.segments.find((s) => time >= s.start && time < s.end) ?? null;

  const onKey = (e: KeyboardEvent, p: PlayerKeys): boolean => {
    if (!loaded) return false;
    seekRef.current = p.seek;
    const k = e.key.toLowerCase();
    if (e.ctrlKey || e.metaKey) {
      if (k === 'z') dispatch({ type: e.shiftKey ? 'redo' : 'undo' });
      else if (k === 'y') dispatch({ type: 'redo' });
      else return false;
      return true;
    }
    if (k === 'i' && e.shiftKey) {
      if (selected) dispatch({ type: 'resize', key: selected.key, edge: 'start', to: p.time });
    } else if (k === 'o' && e.shiftKey) {
      if (selected) dispatch({ type: 'resize', key: selected.key, edge: 'end', to: p.time });
    } else if (k === 'i') dispatch({ type: 'markIn', at: p.time });
    else if (k === 'o') dispatch({ type: 'markOut', at: p.time });
    else if (k === 'n' || k === 'p') {
      jumpToSelection.current = true;
      dispatch({ type: 'selectNext', at: p.time, direction: k === 'n' ? 1 : -1 });
    } else if (k === 's') dispatch({ type: 'split', at: p.time });
    else if (k === 'm') {
      if (selected) dispatch({ type: 'merge', key: selected.key });
    } else if (k === 'delete' || k === 'backspace') {
      if (selected) dispatch({ type: 'delete', key: selected.key });
    } else if (/^[0-9]$/.test(k)) {
      const target = selected ?? underPlayhead;
      if (!target) return true;
      const value = k === '0' ? null : valueForDigit(state.tier, Number(k));
      if (value === undefined) return true;
      dispatch({ type: 'setValue', key: target.key, value });
    } else return false;
    return true;
  };

  const onTime = useCallback((t: number) => setTime(t), []);
  const valueText = (v: TierValue) => (v === null ? '' : typeof v === 'number' ? (v > 0 ? `+${v}` : String(v)) : v);
  const lane: LaneView | undefined =
    loaded && tier && annotator
      ? {
          label: `${tier.name} (${annotator.name})`,
          segments: state.segments,
          selected: state.selected,
          markIn: state.markIn,
          valueText,
          onCreate: (start, end, snap) => dispatch({ type: 'create', start, end, snap }),
          onMove: (key, start, snap) => dispatch({ type: 'move', key, start, snap }),
          onResize: (key, edge, to, snap) => dispatch({ type: 'resize', key, edge, to, snap }),
          onSelect: (key) => dispatch({ type: 'select', key }),
        }
      : undefined;

  return (
    <div className="tier-editor">
      <ClipPlayer api={api} clip={clip} lane={lane} onKey={onKey} onTime={onTime} />
      {annotator ? (
        <div className="tier-bar">
          <label>
            Tier{' '}
            <select aria-label="Tier" value={tier?.id ?? ''} onChange={(e) => setTierId(Number(e.target.value))}>
              {tiers.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name} ({t.kind})
                </option>
              ))}
            </select>
          </label>
          <UndoControls state={state} loaded={loaded} dispatch={dispatch} testId="segments-save-state" />
          <NewTierForm
            api={api}
            projectId={clip.projectId}
            onCreated={(t) => {
              setTierId(t.id);
              onTiersChanged();
            }}
          />
        </div>
      ) : null}
      {state.message && loaded ? (
        <p className="field-error" role="alert" data-testid="segment-message">
          {state.message}
        </p>
      ) : null}
      {loaded && tier ? (
        <div className="tier-body">
          <table className="segments" data-testid="segment-list">
            <thead>
              <tr>
                <th>start</th>
                <th>end</th>
                <th>{tier.kind === 'score' ? 'score (-3 .. +3)' : tier.kind === 'category' ? 'label' : 'text'}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {state.segments.map((s, i) => (
                <tr
                  key={s.key}
                  className={s.key === state.selected ? 'selected' : ''}
                  onClick={() => s.key !== state.selected && dispatch({ type: 'select', key: s.key })}
                  data-testid="segment-row"
                >
                  <td>{fmtTime(s.start)}</td>
                  <td>{fmtTime(s.end)}</td>
                  <td>
                    {tier.kind === 'score' ? (
                      <ScoreField
                        label={`Segment ${i + 1} value`}
                        value={typeof s.value === 'number' ? s.value : null}
                        onValue={(v) => dispatch({ type: 'setValue', key: s.key, value: v })}
                      />
                    ) : tier.kind === 'category' ? (
                      <select
                        aria-label={`Segment ${i + 1} value`}
                        value={typeof s.value === 'string' ? s.value : ''}
                        onChange={(e) => dispatch({ type: 'setValue', key: s.key, value: e.target.value || null })}
                      >
                        <option value="">(none)</option>
                        {tier.labels.map((l, k) => (
                          <option key={l} value={l}>
                            {k + 1}. {l}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <input
                        aria-label={`Segment ${i + 1} value`}
                        value={typeof s.value === 'string' ? s.value : ''}
                        onChange={(e) => dispatch({ type: 'setValue', key: s.key, value: e.target.value || null })}
                      />
                    )}
                  </td>
                  <td>
                    <button
                      onClick={() => dispatch({ type: 'delete', key: s.key })}
                      aria-label={`Delete segment ${i + 1}`}
                    >
                      ×
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <aside className="shortcuts" aria-label="Keyboard shortcuts" data-testid="shortcuts">
            <h4>Keys (click the player first)</h4>
            <dl>
              {SHORTCUTS.map(([key, what]) => (
                <div key={key}>
                  <dt>
                    <kbd>{key}</kbd>
                  </dt>
                  <dd>{what}</dd>
                </div>
              ))}
            </dl>
            {tier.kind === 'category' ? (
              <p className="muted">
                labels:{' '}
                {tier.labels.map((l, k) => (
                  <span key={l}>
                    <kbd>{k + 1}</kbd> {l}{' '}
                  </span>
                ))}
              </p>
            ) : null}
          </aside>
        </div>
      ) : !annotator ? (
        <p className="muted">Choose an annotator to code tiers on this clip.</p>
      ) : null}
    </div>
  );
}
