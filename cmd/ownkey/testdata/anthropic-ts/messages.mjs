// The official Anthropic TypeScript SDK against ownkey's Messages API, as
// TestMessagesTypeScriptSDK (cmd/ownkey) sets it up: OWNKEY_BASE_URL is the
// gateway, OWNKEY_API_KEY an ownkey key whose account holds an anthropic key
// (a fake Anthropic, answering in the order of the steps below) and a groq
// key (a fake Groq). It prints what the SDK made of each answer, as JSON,
// for the Go test to check.
import Anthropic from '@anthropic-ai/sdk';

const baseURL = process.env.OWNKEY_BASE_URL;
const client = new Anthropic({ baseURL, apiKey: process.env.OWNKEY_API_KEY, maxRetries: 0 });
const out = {};

const weather = {
  name: 'get_weather',
  description: 'Weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const ask = [{ role: 'user', content: 'Weather in Paris?' }];

// 1. Passed through, not streamed.
const text = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
out.text = { id: text.id, content: text.content, usage: text.usage };

// 2. Passed through, streamed: thinking with its signature and a tool call,
// then the tool result sent back with the thinking block.
const stream = client.messages.stream({
  model: 'claude-sonnet-4-5', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, tools: [weather], messages: ask,
});
const events = [];
stream.on('streamEvent', (e) => events.push(e.type));
const first = await stream.finalMessage();
const tool = first.content.find((b) => b.type === 'tool_use');
const second = await client.messages.create({
  model: 'claude-sonnet-4-5', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, tools: [weather],
  messages: [...ask, { role: 'assistant', content: first.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: tool.id, content: '18°C, sunny' }] }],
});
out.thinking = { events, first: first.content, stop: first.stop_reason, usage: first.usage, second: second.content };

// 3. Translated: a Groq model, a tool round trip and a stream.
const g1 = await client.messages.create({ model: 'groq/llama-3.3-70b-versatile', max_tokens: 200, tools: [weather], messages: ask });
const call = g1.content.find((b) => b.type === 'tool_use');
const g2 = await client.messages.create({
  model: 'groq/llama-3.3-70b-versatile', max_tokens: 200, tools: [weather],
  messages: [...ask, { role: 'assistant', content: g1.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18°C' }] }],
});
const gs = client.messages.stream({ model: 'groq/llama-3.3-70b-versatile', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }] });
const gsEvents = [];
let deltaUsage = null; // as sent: the accumulated message keeps only Anthropic's counts
gs.on('streamEvent', (e) => {
  gsEvents.push(e.type);
  if (e.type === 'message_delta') deltaUsage = e.usage;
});
const g3 = await gs.finalMessage();
out.groq = {
  first: g1.content, stop: g1.stop_reason, usage: g1.usage, second: g2.content,
  stream: g3.content, streamEvents: gsEvents, streamUsage: g3.usage, deltaUsage,
};

// 4. Errors, as the SDK's error classes.
const failure = async (f) => {
  try {
    await f();
    return null;
  } catch (e) {
    return { class: e.constructor.name, status: e.status, type: e.error?.error?.type, message: e.error?.error?.message };
  }
};
const stranger = new Anthropic({ baseURL, apiKey: 'sk-ownkey-not-a-key-000000000000', maxRetries: 0 });
out.errors = {
  badKey: await failure(() => stranger.messages.create({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })),
  badRequest: await failure(() => client.messages.create({ model: 'claude-x', max_tokens: 10, messages: [] })),
};

// 5. count_tokens: exact (Anthropic's), then an estimate (Groq).
out.count = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
out.estimate = await client.messages.countTokens({ model: 'groq/llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'Count me, please.' }] });

process.stdout.write(JSON.stringify(out));
