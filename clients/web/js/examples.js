// Example tasks for the task box, in the spirit of the original's samples.
export const examples = [
  { title: 'Renewable storage', maxSteps: 5, task: 'Compare battery, pumped hydro and hydrogen storage for a grid with 60% renewables.' },
  { title: 'Code review', maxSteps: 4, task: 'Review the risks of migrating a monolith to microservices for a ten-person team.' },
  { title: 'Market scan', maxSteps: 6, task: 'Assess the market for on-device speech recognition in consumer headphones.' },
  { title: 'Research summary', maxSteps: 5, task: 'Summarise what is known about sleep and memory consolidation, with open questions.' },
  { title: 'Quick check', maxSteps: 2, task: 'List the main trade-offs of server-sent events versus WebSockets.' },
];
