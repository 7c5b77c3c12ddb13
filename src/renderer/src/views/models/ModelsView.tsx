import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Api } from '../../../../shared/api';
import type { TextEncoderModel } from '../../../../shared/contract/models';

/**
 * Text encoders: the BERT folders training (frozen / fine-tune) and clip feature extraction use.
 * Folders are read where they are; nothing is downloaded. A folder missing a file is refused with
 * what is missing.
 */
export function ModelsView({ api }: { api: Api }) {
  const [models, setModels] = useState<TextEncoderModel[]>([]);
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(() => api.models.list({}).then(setModels, (e: Error) => setError(e.message)), [api]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const add = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      await api.models.add({ path, name: name.trim() || undefined });
      setPath('');
      setName('');
    });
  };

  return (
    <section className="models" aria-label="Text encoders">
      <h2>Text encoders</h2>
      <p className="muted">
        A BERT folder with config.json, vocab.txt and model.safetensors (or pytorch_model.bin), e.g. bert-base-uncased.
        The default one (*) is used by clip feature extraction and by training with a frozen or fine-tuned text encoder.
      </p>
      <table className="jobs" data-testid="model-list">
        <thead>
          <tr>
            <th>name</th>
            <th>folder</th>
            <th>shape</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.name} data-ok={m.ok}>
              <td>
                {m.isDefault ? '* ' : ''}
                {m.name}
              </td>
              <td>{m.path}</td>
              <td>
                {m.ok ? (
                  `${m.layers} layers, hidden ${m.hiddenSize}, vocab ${m.vocabSize} (${m.weightsFormat})`
                ) : (
                  <span className="error">not usable: {m.problems.join('; ')}</span>
                )}
              </td>
              <td>
                {!m.isDefault ? (
                  <button onClick={() => void act(() => api.models.setDefault({ name: m.name }))}>Make default</button>
                ) : null}
                <button onClick={() => void act(() => api.models.remove({ name: m.name }))}>Remove</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {models.length === 0 ? <p className="muted">No text encoder yet.</p> : null}
      <form onSubmit={add} className="new-project" aria-label="Add a text encoder">
        <input
          aria-label="Model folder"
          placeholder="/path/to/bert-base-uncased"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          required
        />
        <input
          aria-label="Model name"
          placeholder="name (default: the folder's name)"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" disabled={!path.trim()}>
          Add folder
        </button>
      </form>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
