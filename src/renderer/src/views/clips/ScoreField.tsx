/**
 * A score field that refuses what is not a score in -3 .. +3 with the reason beside it (the value
 * kept is the last valid one; nothing is clamped or rounded). Typing shows the text as typed.
 */
import { useState } from 'react';
import { parseScore } from '../../../../shared/tiers';

export function ScoreField({
  value,
  label,
  disabled,
  onValue,
  refusal,
}: {
  value: number | null;
  label: string;
  disabled?: boolean;
  onValue(v: number | null): void;
  /** a refusal the editor gave for this field (shown when the text itself parses) */
  refusal?: string | null;
}) {
  const [text, setText] = useState(value === null ? '' : String(value));
  const [error, setError] = useState<string | null>(null);
  // the value changed from outside (undo, keys, load): show it (state adjusted while rendering,
  // React's pattern for state derived from a changed prop)
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    setShown(value);
    const p = parseScore(text);
    if (!p.ok || p.value !== value) {
      setText(value === null ? '' : String(value));
      setError(null);
    }
  }
  const message = error ?? refusal ?? null;
  return (
    <span className="score-field">
      <input
        type="text"
        inputMode="decimal"
        aria-label={label}
        aria-invalid={message ? true : undefined}
        disabled={disabled}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          const p = parseScore(e.target.value);
          if (!p.ok) setError(p.message);
          else {
            setError(null);
            onValue(p.value);
          }
        }}
      />
      {message ? (
        <span className="field-error" role="alert" data-testid="field-error">
          {message}
        </span>
      ) : null}
    </span>
  );
}
