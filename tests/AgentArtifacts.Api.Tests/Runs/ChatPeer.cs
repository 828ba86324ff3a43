using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>
/// An OpenAI-compatible chat-completions server for agent tests (a stand-in for an LLM provider, which cannot run here), on
/// Kestrel at a free loopback port. It streams, as the real API does: while the conversation has no tool result yet, a call of
/// the tool <see cref="ToolName"/> with <see cref="ToolArguments"/>; once it has one, the answer in <see cref="AnswerChunks"/>.
/// With <see cref="AlwaysCallTools"/> it never answers. With <see cref="AnswerAsJson"/> it ignores <c>stream: true</c> and answers
/// each request with one <c>chat.completion</c> JSON body, as some compatible servers do. <see cref="FailuresAfterToolResult"/>
/// requests that carry a tool result are answered <see cref="FailureStatus"/> first (with <see cref="FailureRetryAfter"/>).
/// </summary>
public sealed class ChatPeer : IAsyncDisposable
{
    private readonly WebApplication _app;
    public ConcurrentQueue<JsonObject> Requests { get; } = new();
    public ConcurrentQueue<string> Authorizations { get; } = new();
    public string ToolName { get; set; } = "Lookup";
    public string ToolArguments { get; set; } = """{"q":"forty-two"}""";
    public string[] AnswerChunks { get; set; } = ["The answer ", "is 42."];
    public bool AlwaysCallTools { get; set; }
    public bool AnswerAsJson { get; set; }
    /// <summary>When set, every request is answered 200 with a page of this content type instead (a proxy's, say).</summary>
    public string? AnswerPageOfType { get; set; }
    public int FailuresAfterToolResult;
    public int FailureStatus { get; set; } = 500;
    public string? FailureRetryAfter { get; set; }

    private ChatPeer(WebApplication app) => _app = app;

    public Uri Url(string path) => _app.Url(path);

    public static async Task<ChatPeer> StartAsync()
    {
        var builder = LoopbackPeer.CreateBuilder();
        var app = builder.Build();
        var peer = new ChatPeer(app);
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
            peer.Requests.Enqueue(body);
            peer.Authorizations.Enqueue(http.Request.Headers.Authorization.ToString());
            var hasToolResult = body["messages"]!.AsArray().Any(m => m!["role"]!.GetValue<string>() == "tool");
            if (hasToolResult && Interlocked.Decrement(ref peer.FailuresAfterToolResult) >= 0)
            {
                http.Response.StatusCode = peer.FailureStatus;
                if (peer.FailureRetryAfter is { } retryAfter) http.Response.Headers.RetryAfter = retryAfter;
                await http.Response.WriteAsJsonAsync(new { error = new { message = "overloaded", type = "server_error" } });
                return;
            }
            if (peer.AnswerPageOfType is { } type)
            {
                http.Response.ContentType = type;
                await http.Response.WriteAsync("<html><body>Please sign in</body></html>");
                return;
            }
            if (peer.AnswerAsJson)
            {
                var callsTool = !hasToolResult || peer.AlwaysCallTools;
                var message = callsTool
                    ? new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = $"call_{peer.Requests.Count}", ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = peer.ToolName, ["arguments"] = peer.ToolArguments },
                    }) }
                    : new JsonObject { ["role"] = "assistant", ["content"] = string.Concat(peer.AnswerChunks) };
                await http.Response.WriteAsJsonAsync(new JsonObject
                {
                    ["id"] = "chatcmpl-test", ["object"] = "chat.completion", ["created"] = 1_700_000_000, ["model"] = "test-model",
                    ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = callsTool ? "tool_calls" : "stop" }),
                    ["usage"] = new JsonObject { ["prompt_tokens"] = 10, ["completion_tokens"] = 5, ["total_tokens"] = 15 },
                });
                return;
            }
            http.Response.ContentType = "text/event-stream";
            if (!hasToolResult || peer.AlwaysCallTools)
            {
                await Chunk(http, new JsonObject { ["role"] = "assistant", ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["id"] = $"call_{peer.Requests.Count}", ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = peer.ToolName, ["arguments"] = "" },
                }) }, null);
                await Chunk(http, new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = peer.ToolArguments },
                }) }, null);
                await Chunk(http, new JsonObject(), "tool_calls");
            }
            else
            {
                foreach (var text in peer.AnswerChunks)
                {
                    await Chunk(http, new JsonObject { ["role"] = "assistant", ["content"] = text }, null);
                    await Task.Delay(150);  // apart enough to arrive as separate deltas
                }
                await Chunk(http, new JsonObject(), "stop");
            }
            await http.Response.WriteAsync("data: [DONE]\n\n");
        });
        await app.StartAsync();
        return peer;
    }

    private static async Task Chunk(HttpContext http, JsonObject delta, string? finishReason)
    {
        var chunk = new JsonObject
        {
            ["id"] = "chatcmpl-test", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = "test-model",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
        };
        await http.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n");
        await http.Response.Body.FlushAsync();
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
