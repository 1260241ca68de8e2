// Server text (a task, an agent's output) is shown as text, never as markup. Characters that would change how the
// text around them reads are shown as escapes instead: bidirectional overrides and isolates, which can make a task
// read backwards from where they stand ("Trojan Source"), and the C0/C1 controls, which show as nothing or a box.
// The escape is the one JSON uses (\u202e), so an event's JSON shown this way is still the same JSON.
const hidden = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each control and bidi formatting character written as `\uXXXX`; null and undefined as ''. */
export function visible(text) {
  return text == null ? '' : String(text).replace(hidden, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
