// The five-message conversation (system, two user and two assistant turns) the data-format tests read and render.
export const CONV = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello! How can I help?' },
  { role: 'user', content: '2+2?' },
  { role: 'assistant', content: '4' },
];
