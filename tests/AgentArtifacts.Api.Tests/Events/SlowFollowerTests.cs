using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Events;

/// <summary>A follower that stops reading is disconnected with a last event naming where to resume, and resuming there loses nothing.</summary>
public sealed class SlowFollowerTests() : IsolatedHostTest(new Dictionary<string, string?> { ["Events:WriteTimeoutSeconds"] = "0.5" })
{
    [Fact]
    public async Task a_client_that_stops_reading_gets_a_last_event_naming_where_to_resume_and_resuming_there_skips_nothing()
    {
        var token = await RegisterAdaAsync(Host);
        using var ada = Host.NewClient(token);
        var created = await ada.PostJson("/workspaces", new { title = "Busy" });
        var workspace = (await created.Json())["id"]!.GetValue<Guid>();
        var me = (await (await ada.GetAsync("/auth/me")).Json())["id"]!.GetValue<Guid>();

        // A client whose socket takes almost nothing until it reads.
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var slow = Host.NewClient(token, handler);
        var request = new HttpRequestMessage(HttpMethod.Get, "/events?after=0&types=artifact.created");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await slow.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);

        // Far more than the sockets and the server's buffers hold: 3,000 events of ~3 KB each.
        var title = new string('x', 3000);
        await using (var session = Host.Store.LightweightSession())
        {
            session.LastModifiedBy = me.ToString();
            for (var i = 0; i < 3000; i++)
            {
                var id = Guid.CreateVersion7();
                session.Events.StartStream<Artifact>(id, new ArtifactCreated(id, workspace, "text/plain", $"{i:D4}{title}", null, [], [], null));
            }
            await session.SaveChangesAsync();
        }
        await Task.Delay(TimeSpan.FromSeconds(3));

        var frames = new List<SseFrame>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            try
            {
                await foreach (var frame in response.FramesAsync(timeout.Token)) if (frame.Comment is null) frames.Add(frame);
            }
            catch (OperationCanceledException)
            {
                throw new Exception($"{frames.Count} frames, last {frames.LastOrDefault()?.Event} {frames.LastOrDefault()?.Id}; " +
                    string.Join("\n", Host.Logs.Lines.Where(l => l.Contains("Exception") || l.Contains("Events")).TakeLast(5)));
            }
        }
        var last = frames[^1];
        last.Event.ShouldBe("disconnected");
        var data = JsonNode.Parse(last.Data!)!.AsObject();
        data["reason"]!.GetValue<string>().ShouldBe("too_slow");
        var delivered = frames.Where(f => f.Event == "artifact.created").ToList();
        delivered.Count.ShouldBeLessThan(3001);
        data["resumeAfter"]!.GetValue<long>().ShouldBe(delivered[^1].Id!.Value);
        last.Id.ShouldBe(delivered[^1].Id);

        // Resuming where it said: the next event, and every one after it, once.
        using var resumed = await ada.OpenStreamAsync(HttpMethod.Get, "/events?types=artifact.created", lastEventId: last.Id.ToString());
        var rest = new List<SseFrame>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            try
            {
                await foreach (var frame in resumed.FramesAsync(timeout.Token))
                {
                    if (frame.Event == "artifact.created") rest.Add(frame);
                    if (delivered.Count + rest.Count == 3001) break;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
        (delivered.Count + rest.Count).ShouldBe(3001);  // the workspace and the 3,000
        delivered.Concat(rest).Select(f => f.Id).Distinct().Count().ShouldBe(3001);
        rest[0].Id!.Value.ShouldBeGreaterThan(last.Id!.Value);
    }
}
