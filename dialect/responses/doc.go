// Package responses is OpenAI's Responses API as a client dialect
// (POST /v1/responses in front of every provider): Writer, the
// ownkey.ChatSink of Responses clients, and ChatRequest, the translation
// of their requests into OpenAI Chat Completions for the families that
// read that. A request routed to a provider that speaks the Responses API
// itself (openai-responses, azure-responses) is not translated: its bytes
// and the provider's answer pass through (provider/responses, relayed
// through RelayEvent and RelayBody).
//
// # The answer
//
// A translated answer becomes the output items the API would give: the
// model's reasoning (reasoning_content, where a provider returns it) a
// reasoning item with one summary_text part; its text a message item with
// one output_text part; each tool call a function_call item whose call_id
// is the tool call's id. An item opens with the first delta of its kind; a
// message or reasoning item closes when another item opens, function calls
// when the answer ends. Item ids are made from the response id
// (msg_<…>_<n>, rs_…, fc_…); the response id is the provider's, given the
// resp_ prefix when it lacks it.
//
// A stream is the API's event sequence, each event named by an event:
// line and numbered (sequence_number from 0):
//
//	response.created, response.in_progress        the response, in_progress, no output
//	response.output_item.added                    an item opens
//	response.content_part.added                   a message's output_text part
//	response.output_text.delta                    its text, as the provider's JSON string
//	response.reasoning_summary_part.added         a reasoning item's summary part
//	response.reasoning_summary_text.delta         its text
//	response.function_call_arguments.delta        a call's arguments
//	response.output_text.done, content_part.done, reasoning_summary_text.done,
//	reasoning_summary_part.done, function_call_arguments.done,
//	response.output_item.done                     an item closes, whole
//	response.completed                            the whole response with its usage
//	response.incomplete                           the same, cut short (finish length:
//	                                              max_output_tokens; content_filter)
//	error, response.failed                        a stream that cannot be completed
//
// A non-streaming answer is the response object of response.completed.
// Its status comes from the finish reason (stop and tool_calls: completed;
// length: incomplete with incomplete_details.reason max_output_tokens;
// content_filter: incomplete, content_filter). Usage is the API's
// (input_tokens, input_tokens_details.cached_tokens, output_tokens,
// output_tokens_details.reasoning_tokens, total_tokens) with ownkey's cost
// members as chat's usage has them (dialect/openai.AppendCost), and, when
// the provider priced cache writes apart, input_tokens_details
// .cache_write_tokens. The response repeats the request's members as the
// API does (instructions, tools, tool_choice, text, reasoning, …: Echo),
// with store false and previous_response_id null: ownkey keeps no
// conversation state.
//
// A stream that fails gets an error event, in the API's form
// ({"type":"error","code","message","param"}, and the same in an error
// object, which the SDKs read as a stream error), then response.failed
// with the output so far. A relayed stream that Core has to end (cut
// short, silent, an oversized event) gets the error event only.
//
// The writer keeps the text of the answer it writes (the .done events and
// the final response repeat it whole), at most MaxKept (64 MiB) of it,
// each item counting 256 bytes beside its text: a
// provider that goes on past that gets the stream ended with an error
// event (code response_too_large) and response.failed, and a whole answer
// a 502.
//
// A non-streaming answer, relayed or translated, carries its cost in
// response headers too (HeaderCost and the rest): a relayed answer's bytes
// stay the provider's, so that is where its cost is.
//
// # The request
//
// ChatRequest translates: instructions → a first system message; input, a
// string (one user message) or items in order: messages of every role
// (input_text, input_image by URL or data: URL, input_file by data or id;
// an assistant's output_text and refusal parts as its text; developer
// becomes system for providers other than OpenAI and Azure OpenAI),
// function_call items joined to the assistant message before them as its
// tool_calls (call_id as the id), function_call_output items as tool
// messages; reasoning items of earlier turns are left out (another
// provider cannot take them back). tools (function tools only) nested as
// chat tools, strict only when the client set it; tool_choice (a named
// function nested; dropped without tools); text.format → response_format,
// text.verbosity → verbosity; max_output_tokens → max_completion_tokens
// for OpenAI and Azure OpenAI (their reasoning models refuse max_tokens),
// max_tokens for the rest; reasoning.effort → reasoning_effort;
// temperature and top_p as the client wrote them; parallel_tool_calls,
// user, safety_identifier, prompt_cache_key, prompt_cache_retention and
// service_tier as they are; stream with stream_options.include_usage.
//
// Refused with a 400 naming the field: OpenAI's built-in tools (web_search,
// file_search, computer_use_preview, code_interpreter, mcp, …, in tools or
// tool_choice) and their items in input, item_reference, stored prompts
// (prompt), tool_choice allowed_tools, logprobs (top_logprobs, include
// message.output_text.logprobs). Dropped, as hints a chat provider has no
// member for: reasoning.summary, include's other entries, truncation,
// max_tool_calls, metadata (which describes a stored response), and any
// member this translation does not know. store, previous_response_id,
// conversation and background are the HTTP layer's to refuse, for every
// provider.
package responses
