using System.CommandLine;
using OrleansMQ.ClientSample;

var gateway = new Option<int[]>("--gateway") { Description = "The silo-host gateway port(s) on 127.0.0.1 (several for a multi-silo cluster).", DefaultValueFactory = _ => [30000], AllowMultipleArgumentsPerToken = true };
var room = new Option<string>("--room") { Description = "Chat room name.", DefaultValueFactory = _ => "lobby" };
var nick = new Option<string>("--nick") { Description = "Your nickname.", DefaultValueFactory = _ => Environment.UserName };
var history = new Option<TimeSpan>("--history") { Description = "How far back a first join replays.", DefaultValueFactory = _ => TimeSpan.FromHours(24) };
var runId = new Option<string>("--run-id") { Description = "Suffix for the demo's topic names.", DefaultValueFactory = _ => Guid.NewGuid().ToString("N")[..8] };
var topic = new Option<string>("--topic") { Description = "Topic name.", Required = true };
var count = new Option<int>("--count") { Description = "How many messages.", DefaultValueFactory = _ => 1000 };
var partitions = new Option<int>("--partitions") { Description = "Partitions when the topic is created.", DefaultValueFactory = _ => 4 };
var ackedFile = new Option<FileInfo>("--acked-file") { Description = "Output of 'publish' (lines 'ACK seq partition offset').", Required = true };

var chat = new Command("chat", "Interactive chat in a room (stdin → room, room → stdout).") { gateway, room, nick, history };
chat.SetAction((r, ct) => Commands.ChatAsync(r.GetValue(gateway)!, r.GetValue(room)!, r.GetValue(nick)!, r.GetValue(history), ct));

var demo = new Command("demo", "Non-interactive walkthrough: chat with history replay, then a worker queue with a poison message.") { gateway, runId };
demo.SetAction((r, ct) => Commands.DemoAsync(r.GetValue(gateway)!, r.GetValue(runId)!, ct));

var publish = new Command("publish", "Publish numbered messages; print one ACK line per acknowledged message.") { gateway, topic, count, partitions };
publish.SetAction((r, ct) => Commands.PublishAsync(r.GetValue(gateway)!, r.GetValue(topic)!, r.GetValue(count), r.GetValue(partitions), ct));

var verify = new Command("verify", "Check that every acknowledged message of a 'publish' run is stored.") { gateway, topic, ackedFile };
verify.SetAction((r, ct) => Commands.VerifyAsync(r.GetValue(gateway)!, r.GetValue(topic)!, r.GetValue(ackedFile)!, ct));

var root = new RootCommand("OrleansMQ sample client: a chat on topics and a worker queue.") { chat, demo, publish, verify };
return await root.Parse(args).InvokeAsync();
