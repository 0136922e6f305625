using System.Globalization;
using System.Text.Json;

namespace OrleansMQ.Server.Routing;

/// <summary>
/// A content filter on a binding: a small expression over the message's headers, key and JSON body.
/// <code>
/// expr    := or
/// or      := and ('||' and)*
/// and     := unary ('&amp;&amp;' unary)*
/// unary   := '!' unary | '(' expr ')' | compare
/// compare := operand (('==' | '!=' | '&lt;' | '&lt;=' | '&gt;' | '&gt;=') operand)?
/// operand := 'headers.' name | 'body' ('.' name)* | 'key' | 'content_type' | string | number | true | false | null
/// </code>
/// Strings are single- or double-quoted (backslash escapes the quote). <c>body.a.b</c> reads the JSON body (missing or
/// non-JSON → null). Comparisons between numbers are numeric (header values that parse as numbers count as numbers);
/// otherwise strings compare ordinally; any comparison with null other than ==/!= is false. An operand alone is true when
/// it is present and not false/null/"" (so <c>headers.vip</c> tests presence).
/// </summary>
public sealed class MessageFilter
{
    /// <summary>The longest filter text accepted.</summary>
    public const int MaxLength = 1024;

    private readonly Node _root;
    private readonly bool _readsBody;

    private MessageFilter(string text, Node root, bool readsBody)
    {
        Text = text;
        _root = root;
        _readsBody = readsBody;
    }

    /// <summary>The source text.</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; <see cref="ErrorCode.InvalidArgument"/> with the position on a syntax error.</summary>
    public static MessageFilter Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
        {
            throw new OrleansMQException(ErrorCode.InvalidArgument, $"Filter is {text.Length} characters; the limit is {MaxLength}.");
        }

        var parser = new Parser(text);
        var root = parser.ParseExpression();
        parser.ExpectEnd();
        return new MessageFilter(text, root, parser.ReadsBody);
    }

    /// <summary>Evaluates the filter for a message.</summary>
    public bool Matches(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        JsonElement? body = null;
        if (_readsBody)
        {
            try
            {
                using var doc = JsonDocument.Parse(message.Body);
                body = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                body = null;
            }
        }

        return Truthy(_root.Evaluate(new Context(message, body)));
    }

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0,
        _ => true,
    };

    private readonly record struct Context(Message Message, JsonElement? Body);

    private abstract record Node
    {
        public abstract object? Evaluate(Context context);
    }

    private sealed record Literal(object? Value) : Node
    {
        public override object? Evaluate(Context context) => Value;
    }

    private sealed record HeaderRef(string Name) : Node
    {
        public override object? Evaluate(Context context) =>
            context.Message.Headers is { } h && h.TryGetValue(Name, out var v) ? AsValue(v) : null;
    }

    private sealed record KeyRef : Node
    {
        public override object? Evaluate(Context context) => context.Message.Key is { } k ? AsValue(k) : null;
    }

    private sealed record ContentTypeRef : Node
    {
        public override object? Evaluate(Context context) => context.Message.ContentType;
    }

    private sealed record BodyRef(string[] Path) : Node
    {
        public override object? Evaluate(Context context)
        {
            if (context.Body is not { } element)
            {
                return null;
            }

            foreach (var name in Path)
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
                {
                    return null;
                }
            }

            return element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Number => element.GetDouble(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => element.GetRawText(),
            };
        }
    }

    private sealed record Not(Node Operand) : Node
    {
        public override object? Evaluate(Context context) => !Truthy(Operand.Evaluate(context));
    }

    private sealed record And(Node Left, Node Right) : Node
    {
        public override object? Evaluate(Context context) => Truthy(Left.Evaluate(context)) && Truthy(Right.Evaluate(context));
    }

    private sealed record Or(Node Left, Node Right) : Node
    {
        public override object? Evaluate(Context context) => Truthy(Left.Evaluate(context)) || Truthy(Right.Evaluate(context));
    }

    private sealed record Compare(Node Left, string Op, Node Right) : Node
    {
        public override object? Evaluate(Context context)
        {
            var l = Left.Evaluate(context);
            var r = Right.Evaluate(context);
            if (l is null || r is null)
            {
                return Op switch { "==" => l is null && r is null, "!=" => (l is null) != (r is null), _ => false };
            }

            int order;
            if (l is double ld && r is double rd)
            {
                order = ld.CompareTo(rd);
            }
            else if (l is bool lb && r is bool rb)
            {
                if (Op is not ("==" or "!="))
                {
                    return false;
                }

                order = lb == rb ? 0 : 1;
            }
            else
            {
                order = string.CompareOrdinal(Text(l), Text(r));
            }

            return Op switch
            {
                "==" => order == 0,
                "!=" => order != 0,
                "<" => order < 0,
                "<=" => order <= 0,
                ">" => order > 0,
                _ => order >= 0,
            };
        }

        private static string Text(object value) => value switch
        {
            double d => d.ToString(CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            _ => value.ToString() ?? "",
        };
    }

    /// <summary>Header and key values that look like numbers compare as numbers.</summary>
    private static object AsValue(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : text;

    private sealed class Parser(string text)
    {
        private int _pos;

        public bool ReadsBody { get; private set; }

        public Node ParseExpression()
        {
            var left = ParseAnd();
            while (Accept("||"))
            {
                left = new Or(left, ParseAnd());
            }

            return left;
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos < text.Length)
            {
                throw Error($"unexpected '{text[_pos]}'");
            }
        }

        private Node ParseAnd()
        {
            var left = ParseUnary();
            while (Accept("&&"))
            {
                left = new And(left, ParseUnary());
            }

            return left;
        }

        private Node ParseUnary()
        {
            if (Accept("!") )
            {
                return new Not(ParseUnary());
            }

            if (Accept("("))
            {
                var inner = ParseExpression();
                if (!Accept(")"))
                {
                    throw Error("expected ')'");
                }

                return inner;
            }

            var left = ParseOperand();
            foreach (var op in (string[])["==", "!=", "<=", ">=", "<", ">"])
            {
                if (Accept(op))
                {
                    return new Compare(left, op, ParseOperand());
                }
            }

            return left;
        }

        private Node ParseOperand()
        {
            SkipSpace();
            if (_pos >= text.Length)
            {
                throw Error("expected a value");
            }

            var c = text[_pos];
            if (c is '\'' or '"')
            {
                return new Literal(ReadString(c));
            }

            if (char.IsDigit(c) || c == '-')
            {
                var start = _pos++;
                while (_pos < text.Length && (char.IsDigit(text[_pos]) || text[_pos] is '.' or 'e' or 'E' or '+' or '-'))
                {
                    _pos++;
                }

                return double.TryParse(text.AsSpan(start, _pos - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                    ? new Literal(number)
                    : throw Error($"bad number '{text[start.._pos]}'", start);
            }

            var at = _pos;
            var path = ReadPath();
            return path switch
            {
                ["true"] => new Literal(true),
                ["false"] => new Literal(false),
                ["null"] => new Literal(null),
                ["key"] => new KeyRef(),
                ["content_type"] => new ContentTypeRef(),
                ["headers", var name] => new HeaderRef(name),
                ["body", ..] => Body(path[1..]),
                _ => throw Error($"unknown name '{string.Join('.', path)}' (use headers.<name>, body.<path>, key or content_type)", at),
            };
        }

        private BodyRef Body(string[] path)
        {
            ReadsBody = true;
            return new BodyRef(path);
        }

        private string[] ReadPath()
        {
            var parts = new List<string>();
            do
            {
                var start = _pos;
                while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '_' or '-'))
                {
                    _pos++;
                }

                if (_pos == start)
                {
                    throw Error("expected a name");
                }

                parts.Add(text[start.._pos]);
            }
            while (_pos < text.Length && text[_pos] == '.' && ++_pos > 0);

            return [.. parts];
        }

        private string ReadString(char quote)
        {
            var start = _pos++;
            var sb = new System.Text.StringBuilder();
            while (_pos < text.Length && text[_pos] != quote)
            {
                if (text[_pos] == '\\' && _pos + 1 < text.Length)
                {
                    _pos++;
                }

                sb.Append(text[_pos++]);
            }

            if (_pos >= text.Length)
            {
                throw Error("unterminated string", start);
            }

            _pos++;
            return sb.ToString();
        }

        private bool Accept(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _pos, token, 0, token.Length) != 0)
            {
                return false;
            }

            // '<' must not eat the first half of '<='; callers try longer operators first, '!' must not eat '!='.
            if (token == "!" && _pos + 1 < text.Length && text[_pos + 1] == '=')
            {
                return false;
            }

            _pos += token.Length;
            return true;
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private OrleansMQException Error(string what, int? at = null) =>
            new(ErrorCode.InvalidArgument, $"Filter '{text}': {what} at position {at ?? _pos}.");
    }
}
