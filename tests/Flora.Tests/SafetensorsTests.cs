using System.IO;
using System.Text;
using System.Text.Json;
using Flora;

namespace Flora.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private const string Source = "bad-source.safetensors";

    private readonly string _dir;

    public SafetensorsTests()
    {
        _dir = Path.Combine(Path.GetTempPath(), "flora-safetensors-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers (independent of the code under test)
    // ---------------------------------------------------------------------------------------------

    private static byte[] RawBytes(Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        return c.bytes.ToArray();
    }

    private static Tensor FromBytes(ScalarType type, long[] shape, byte[] raw)
    {
        var t = torch.empty(shape, dtype: type);
        t.bytes = raw;
        return t;
    }

    /// <summary>A file: u64 LE length of the (unpadded) JSON, the JSON, then the data.</summary>
    private static byte[] FileOf(string json, byte[]? data = null)
    {
        var header = Encoding.UTF8.GetBytes(json);
        return FileOfRawHeader(header, data);
    }

    private static byte[] FileOfRawHeader(byte[] header, byte[]? data = null)
    {
        data ??= [];
        var bytes = new byte[8 + header.Length + data.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static byte[] Prefix(ulong n, int extra)
    {
        var bytes = new byte[8 + extra];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), n);
        return bytes;
    }

    private static (Dictionary<string, Tensor> Tensors, SafetensorsContent Loaded) RoundTrip(Dictionary<string, Tensor> tensors, Dictionary<string, string>? metadata = null)
    {
        var bytes = Safetensors.Serialize(tensors, metadata);
        return (tensors, Safetensors.Parse(bytes, "roundtrip"));
    }

    private static void AssertSameTensor(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(DeviceType.CPU, actual.device_type);
        Assert.False(actual.requires_grad);
        Assert.True(actual.is_contiguous());
        Assert.Equal(RawBytes(expected), RawBytes(actual));
    }

    // ---------------------------------------------------------------------------------------------
    // Round trips
    // ---------------------------------------------------------------------------------------------

    public static IEnumerable<object[]> AllDtypes() =>
    [
        [ScalarType.Float32, 4],
        [ScalarType.Float64, 8],
        [ScalarType.Float16, 2],
        [ScalarType.BFloat16, 2],
        [ScalarType.Int64, 8],
        [ScalarType.Int32, 4],
        [ScalarType.Int16, 2],
        [ScalarType.Int8, 1],
        [ScalarType.Byte, 1],
        [ScalarType.Bool, 1],
    ];

    [Theory]
    [MemberData(nameof(AllDtypes))]
    public void RoundTrip_IsBitExact_ForEveryDtype(ScalarType type, int elementSize)
    {
        // Random bit patterns (NaN payloads, subnormals, -0 included for floats); BOOL gets 0/1.
        var shape = new long[] { 3, 5, 7 };
        var raw = new byte[3 * 5 * 7 * elementSize];
        new Random(1234 + (int)type).NextBytes(raw);
        if (type == ScalarType.Bool)
            for (int i = 0; i < raw.Length; i++) raw[i] &= 1;

        using var t = FromBytes(type, shape, raw);
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["w"] = t });
        using var loaded = Safetensors.Parse(bytes, "mem");

        var back = loaded.Tensors["w"];
        Assert.Equal(type, back.dtype);
        Assert.Equal(shape, back.shape);
        Assert.Equal(raw, back.bytes.ToArray());
    }

    [Fact]
    public void RoundTrip_KeepsValues_OfTypedTensors()
    {
        using var f32 = torch.tensor(new float[] { 1.5f, -0.0f, float.PositiveInfinity, float.Epsilon, float.NaN });
        using var f64 = torch.tensor(new double[] { System.Math.PI, double.MaxValue, -double.Epsilon });
        using var i64 = torch.tensor(new long[] { long.MinValue, -1, 0, long.MaxValue });
        using var i32 = torch.tensor(new int[] { int.MinValue, 7, int.MaxValue });
        using var u8 = torch.tensor(new byte[] { 0, 1, 127, 128, 255 });
        using var b = torch.tensor(new bool[] { true, false, false, true });
        using var f16 = torch.tensor(new float[] { 0.5f, -2f, 65504f }).to_type(ScalarType.Float16);
        using var bf16 = torch.tensor(new float[] { 0.5f, -2f, 3.0e38f }).to_type(ScalarType.BFloat16);
        var (tensors, loaded) = RoundTrip(new()
        {
            ["f32"] = f32, ["f64"] = f64, ["i64"] = i64, ["i32"] = i32, ["u8"] = u8, ["b"] = b, ["f16"] = f16, ["bf16"] = bf16,
        });
        using (loaded)
        {
            Assert.Equal(tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), loaded.Tensors.Keys);
            foreach (var (name, t) in tensors)
                AssertSameTensor(t, loaded.Tensors[name]);
            Assert.Equal(new long[] { long.MinValue, -1, 0, long.MaxValue }, loaded.Tensors["i64"].data<long>().ToArray());
            Assert.Equal(new bool[] { true, false, false, true }, loaded.Tensors["b"].data<bool>().ToArray());
            Assert.Equal(-2f, loaded.Tensors["bf16"][1].to_type(ScalarType.Float32).item<float>());
            Assert.Empty(loaded.Metadata);
        }
    }

    [Fact]
    public void RoundTrip_Scalar()
    {
        using var scalar = torch.tensor(3.25f);
        Assert.Empty(scalar.shape);
        var (_, loaded) = RoundTrip(new() { ["s"] = scalar });
        using (loaded)
        {
            var back = loaded.Tensors["s"];
            Assert.Empty(back.shape);
            Assert.Equal(ScalarType.Float32, back.dtype);
            Assert.Equal(3.25f, back.item<float>());
        }
    }

    [Fact]
    public void RoundTrip_ZeroSizeTensors()
    {
        using var a = torch.empty(new long[] { 0, 3 }, dtype: ScalarType.Float32);
        using var b = torch.empty(new long[] { 4, 0, 2 }, dtype: ScalarType.Int64);
        using var c = torch.tensor(new int[] { 9, 8 });
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b, ["c"] = c });
        using var loaded = Safetensors.Parse(bytes, "mem");
        Assert.Equal(new long[] { 0, 3 }, loaded.Tensors["a"].shape);
        Assert.Equal(new long[] { 4, 0, 2 }, loaded.Tensors["b"].shape);
        Assert.Equal(ScalarType.Int64, loaded.Tensors["b"].dtype);
        Assert.Equal(0, loaded.Tensors["a"].numel());
        Assert.Equal(new int[] { 9, 8 }, loaded.Tensors["c"].data<int>().ToArray());
    }

    [Fact]
    public void RoundTrip_NonContiguousAndGradInputs_AreCopiedWithoutTouchingTheCaller()
    {
        using var baseTensor = torch.arange(0, 6, dtype: ScalarType.Float32).reshape(2, 3);
        using var transposed = baseTensor.t();
        Assert.False(transposed.is_contiguous());
        using var leaf = torch.tensor(new float[] { 1, 2, 3 }, requires_grad: true);
        using var sliced = torch.arange(0, 20, dtype: ScalarType.Int32)[TensorIndex.Slice(1, 20, 3)];

        var (tensors, loaded) = RoundTrip(new() { ["t"] = transposed, ["g"] = leaf, ["s"] = sliced });
        using (loaded)
        {
            var t = loaded.Tensors["t"];
            Assert.Equal(new long[] { 3, 2 }, t.shape);
            Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, t.data<float>().ToArray());
            Assert.Equal(new float[] { 1, 2, 3 }, loaded.Tensors["g"].data<float>().ToArray());
            Assert.False(loaded.Tensors["g"].requires_grad);
            Assert.Equal(new int[] { 1, 4, 7, 10, 13, 16, 19 }, loaded.Tensors["s"].data<int>().ToArray());
        }

        // The caller's tensors are unchanged and still usable.
        Assert.False(transposed.is_contiguous());
        Assert.True(leaf.requires_grad);
        Assert.True(leaf.is_leaf);
        Assert.False(leaf.IsInvalid);
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, baseTensor.data<float>().ToArray());
    }

    [Fact]
    public void RoundTrip_MetadataAndNames_WithUnicodeAndJsonSpecialCharacters()
    {
        var metadata = new Dictionary<string, string>
        {
            ["quote\"key"] = "value with \"quotes\" and \\backslashes\\",
            ["control"] = "tab\t newline\n return\r nul\0 bell\u0007",
            ["unicode ü 日本"] = "🌸 flora — Ω ≠ ∞",
            ["html"] = "<script>&'</script>",
            ["empty"] = "",
            [""] = "empty key",
            ["slash/json"] = "{\"nested\": [1, 2]}",
        };
        using var a = torch.tensor(new float[] { 1 });
        using var b = torch.tensor(new float[] { 2 });
        using var c = torch.tensor(new float[] { 3 });
        var (tensors, loaded) = RoundTrip(new() { ["layer.0/\"w\"\\é"] = a, ["🌸"] = b, ["x\ny"] = c }, metadata);
        using (loaded)
        {
            Assert.Equal(metadata.OrderBy(p => p.Key, StringComparer.Ordinal), loaded.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
            Assert.Equal(3, loaded.Tensors.Count);
            foreach (var (name, t) in tensors)
                AssertSameTensor(t, loaded.Tensors[name]);
        }
    }

    [Fact]
    public void SaveAndLoad_RoundTripThroughAFile()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        using var w = torch.randn(4, 5);
        using var idx = torch.tensor(new long[] { 3, 1, 4 });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = w, ["idx"] = idx }, new Dictionary<string, string> { ["format"] = "pt" });

        Assert.Equal(Safetensors.Serialize(new Dictionary<string, Tensor> { ["w"] = w, ["idx"] = idx }, new Dictionary<string, string> { ["format"] = "pt" }), File.ReadAllBytes(path));
        using var loaded = Safetensors.Load(path);
        AssertSameTensor(w, loaded.Tensors["w"]);
        AssertSameTensor(idx, loaded.Tensors["idx"]);
        Assert.Equal("pt", loaded.Metadata["format"]);
        Assert.Equal(new[] { "model.safetensors" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Parse_CopiesData_AndDisposeReleasesTheTensors()
    {
        using var t = torch.tensor(new int[] { 5, 6 });
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = t });
        var loaded = Safetensors.Parse(bytes, "mem");
        Array.Clear(bytes);
        var back = loaded.Tensors["t"];
        Assert.Equal(new int[] { 5, 6 }, back.data<int>().ToArray());
        loaded.Dispose();
        Assert.True(back.IsInvalid);
        loaded.Dispose(); // idempotent
    }

    [Fact]
    public void Parse_AcceptsValidHeadersWrittenDifferently()
    {
        // Another writer's style: whitespace, metadata last, keys and offsets in a different order, escapes.
        const string json = "{ \"z\" : {\"data_offsets\": [0, 4], \"shape\": [], \"dtype\": \"I32\"},\n"
            + "  \"\\u0061\": {\"shape\": [2], \"dtype\": \"U8\", \"data_offsets\": [4, 6]},\n"
            + "  \"e\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [6, 6]},\n"
            + "  \"__metadata__\": {\"k\": \"v\\u00fc\"} }\t\n  ";
        var data = new byte[] { 0x2A, 0, 0, 0, 7, 9 };
        using var loaded = Safetensors.Parse(FileOf(json, data), "other-writer");
        Assert.Equal(new[] { "a", "e", "z" }, loaded.Tensors.Keys);
        Assert.Equal(42, loaded.Tensors["z"].item<int>());
        Assert.Equal(new byte[] { 7, 9 }, loaded.Tensors["a"].data<byte>().ToArray());
        Assert.Equal(new long[] { 0, 5 }, loaded.Tensors["e"].shape);
        Assert.Equal("vü", loaded.Metadata["k"]);

        using var empty = Safetensors.Parse(FileOf("{}"), "empty");
        Assert.Empty(empty.Tensors);
        Assert.Empty(empty.Metadata);
    }

    // ---------------------------------------------------------------------------------------------
    // Layout and golden bytes
    // ---------------------------------------------------------------------------------------------

    [Fact]
    public void Serialize_Layout_PaddedHeader_SortedKeys_ContiguousOffsets()
    {
        using var b = torch.randn(2, 3);
        using var a = torch.tensor(new long[] { 1, 2, 3, 4 });
        using var c = torch.tensor(new byte[] { 1, 2, 3 });
        using var z = torch.empty(new long[] { 0 }, dtype: ScalarType.Float64);
        using var B = torch.tensor(new short[] { 1 });
        var tensors = new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a, ["c"] = c, ["z0"] = z, ["B"] = B };
        var bytes = Safetensors.Serialize(tensors, new Dictionary<string, string> { ["m2"] = "x", ["m1"] = "y" });

        ulong n = BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0UL, (8 + n) % 8);
        var header = bytes.AsSpan(8, (int)n).ToArray();
        var text = Encoding.UTF8.GetString(header);
        Assert.Equal('}', text.TrimEnd(' ')[^1]);
        Assert.True(text.Length - text.TrimEnd(' ').Length < 8, "padding is fewer than 8 spaces");
        Assert.DoesNotContain(text.TrimEnd(' '), ch => char.IsWhiteSpace(ch));

        using var doc = JsonDocument.Parse(header);
        var props = doc.RootElement.EnumerateObject().ToList();
        Assert.Equal(new[] { "__metadata__", "B", "a", "b", "c", "z0" }, props.Select(p => p.Name));
        Assert.Equal(new[] { "m1", "m2" }, props[0].Value.EnumerateObject().Select(p => p.Name));

        long cursor = 0;
        foreach (var p in props.Skip(1))
        {
            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(new[] { "dtype", "shape", "data_offsets" }, p.Value.EnumerateObject().Select(f => f.Name));
            Assert.Equal(cursor, offsets[0]);
            Assert.Equal(RawBytes(tensors[p.Name]).Length, offsets[1] - offsets[0]);
            Assert.Equal(tensors[p.Name].shape, shape);
            Assert.Equal(RawBytes(tensors[p.Name]), bytes.AsSpan((int)(8 + (long)n + offsets[0]), (int)(offsets[1] - offsets[0])).ToArray());
            cursor = offsets[1];
        }
        Assert.Equal(bytes.Length, 8 + (long)n + cursor);

        var dtypes = props.Skip(1).ToDictionary(p => p.Name, p => p.Value.GetProperty("dtype").GetString());
        Assert.Equal("I16", dtypes["B"]);
        Assert.Equal("I64", dtypes["a"]);
        Assert.Equal("F32", dtypes["b"]);
        Assert.Equal("U8", dtypes["c"]);
        Assert.Equal("F64", dtypes["z0"]);
    }

    [Fact]
    public void Serialize_GoldenBytes()
    {
        using var t = torch.tensor(new float[] { 1, 2 });
        var actual = Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = t }, new Dictionary<string, string> { ["a"] = "b" });

        const string json = "{\"__metadata__\":{\"a\":\"b\"},\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        Assert.Equal(79, json.Length);
        var expected = new List<byte> { 80, 0, 0, 0, 0, 0, 0, 0 };            // u64 LE header length: 79 + 1 space
        expected.AddRange(Encoding.ASCII.GetBytes(json));
        expected.Add(0x20);                                                   // pad 8 + 80 = 88 = 11 * 8
        expected.AddRange(new byte[] { 0x00, 0x00, 0x80, 0x3F });           // 1.0f LE
        expected.AddRange(new byte[] { 0x00, 0x00, 0x00, 0x40 });           // 2.0f LE
        Assert.Equal(96, expected.Count);
        Assert.Equal(expected.ToArray(), actual);
    }

    [Fact]
    public void Serialize_NoMetadata_OmitsTheMetadataKey()
    {
        var bytes = Safetensors.Serialize(new Dictionary<string, Tensor>(), new Dictionary<string, string>());
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 }, bytes);
        using var loaded = Safetensors.Parse(bytes, "mem");
        Assert.Empty(loaded.Tensors);
    }

    [Fact]
    public void Serialize_RejectsInvalidInputs()
    {
        using var t = torch.tensor(new float[] { 1 });
        using var complex = torch.zeros(new long[] { 2 }, dtype: ScalarType.ComplexFloat32);
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { [SafetensorsHeader.MetadataKey] = t }));
        Assert.Contains(SafetensorsHeader.MetadataKey, ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { ["c"] = complex }));
        Assert.Contains("'c'", ex.Message);
        Assert.Contains("ComplexFloat32", ex.Message);
        var disposed = torch.tensor(new float[] { 1 });
        disposed.Dispose();
        ex = Assert.Throws<ArgumentException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { ["d"] = disposed }));
        Assert.Contains("'d'", ex.Message);
        Assert.Throws<ArgumentException>(() => Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = t }, new Dictionary<string, string> { ["k"] = null! }));
    }

    [Fact]
    public void ForEachChunk_SplitsLargeTensorsIntoWholeElementChunks()
    {
        using var t = torch.arange(0, 10, dtype: ScalarType.Int32);
        var chunks = new List<byte[]>();
        TensorBytes.ForEachChunk(t, 40, chunk => chunks.Add(chunk.ToArray()), chunkBytes: 14);
        Assert.Equal(new[] { 12, 12, 12, 4 }, chunks.Select(c => c.Length));
        Assert.Equal(t.bytes.ToArray(), chunks.SelectMany(c => c).ToArray());

        // Writing through the chunks fills the tensor in order.
        using var target = torch.zeros(10, dtype: ScalarType.Int32);
        var source = t.bytes.ToArray();
        int at = 0;
        TensorBytes.ForEachChunk(target, 40, chunk => { source.AsSpan(at, chunk.Length).CopyTo(chunk); at += chunk.Length; }, chunkBytes: 8);
        Assert.Equal(Enumerable.Range(0, 10).ToArray(), target.data<int>().ToArray());
    }

    // ---------------------------------------------------------------------------------------------
    // Malformed inputs
    // ---------------------------------------------------------------------------------------------

    private const string F32x2 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    public static IEnumerable<object?[]> Malformed()
    {
        // name, bytes, key (or null), a fragment the message must contain
        yield return ["empty file", Array.Empty<byte>(), null, "shorter than the 8-byte"];
        yield return ["7 bytes", new byte[7], null, "it is 7 bytes long"];
        yield return ["header length 0", Prefix(0, 4), null, "header length is 0"];
        yield return ["header length past the end", Prefix(100, 10), null, "larger than the 10 bytes"];
        yield return ["header length over 100 MB", Prefix(100_000_001, 16), null, "100 MB"];
        yield return ["header length 2^64-1", Prefix(ulong.MaxValue, 16), null, "100 MB"];
        yield return ["header only spaces", FileOf("        "), null, "empty or only whitespace"];
        yield return ["header not UTF-8", FileOfRawHeader([(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}']), null, "not valid UTF-8"];
        yield return ["header with BOM", FileOfRawHeader([0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}']), null, "not valid JSON"];
        yield return ["header not JSON", FileOf("{not json}"), null, "not valid JSON"];
        yield return ["header truncated JSON", FileOf("{\"w\":{\"dtype\":\"F32\""), null, "not valid JSON"];
        yield return ["header is an array", FileOf("[1, 2]"), null, "a JSON array, not a JSON object"];
        yield return ["header is a string", FileOf("\"w\""), null, "a string, not a JSON object"];
        yield return ["content after the object", FileOf("{} {}"), null, "not valid JSON"];
        yield return ["trailing comma", FileOf("{\"w\":" + F32x2 + ",}", new byte[8]), null, "not valid JSON"];
        yield return ["comment", FileOf("/* c */{}"), null, "not valid JSON"];
        yield return ["lone surrogate key", FileOf("{\"\\ud800\":" + F32x2 + "}", new byte[8]), null, "not valid text"];
        yield return ["entry not an object", FileOf("{\"w\": 5}"), "w", "is a number; it must be a JSON object"];
        yield return ["entry missing dtype", FileOf("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "w", "no 'dtype' field"];
        yield return ["entry missing shape", FileOf("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8]), "w", "no 'shape' field"];
        yield return ["entry missing data_offsets", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8]), "w", "no 'data_offsets' field"];
        yield return ["entry with an extra field", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", new byte[8]), "w", "unexpected field 'extra'"];
        yield return ["entry with dtype twice", FileOf("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "w", "'dtype' appears more than once"];
        yield return ["dtype not a string", FileOf("{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "w", "dtype is a number"];
        yield return ["unknown dtype", FileOf("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]), "w", "dtype 'F8_E4M3' is not supported"];
        yield return ["lowercase dtype", FileOf("{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "w", "dtype 'f32' is not supported"];
        yield return ["shape not an array", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", new byte[8]), "w", "shape is a string"];
        yield return ["negative shape dim", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8]), "w", "negative dimension"];
        yield return ["fractional shape dim", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", new byte[8]), "w", "2.0, which is not an integer"];
        yield return ["exponent shape dim", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", new byte[8]), "w", "not an integer"];
        yield return ["shape with null", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,8]}}", new byte[8]), "w", "shape contains null"];
        yield return ["shape overflows", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", new byte[8]), "w", "too large"];
        yield return ["data_offsets three numbers", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", new byte[8]), "w", "must be two non-negative integers"];
        yield return ["data_offsets negative", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", new byte[8]), "w", "must be two non-negative integers"];
        yield return ["data_offsets not numbers", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",\"8\"]}}", new byte[8]), "w", "data_offsets contains a string"];
        yield return ["data_offsets beyond 64 bits", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}", new byte[8]), "w", "not an integer in range"];
        yield return ["data_offsets reversed", FileOf("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", new byte[8]), "w", "begin after they end"];
        yield return ["byte length does not match shape", FileOf("{\"conv1.core\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,40]}}", new byte[40]), "conv1.core", "data_offsets [0, 40] do not match shape [2, 3] of F32 (24 bytes)"];
        yield return ["offsets outside the data buffer", FileOf("{\"w\":" + F32x2 + "}", new byte[4]), "w", "reach past the end of the data buffer, which is 4 bytes long"];
        yield return ["overlapping tensors", FileOf("{\"a\":" + F32x2 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]), "b", "overlap those of tensor 'a'"];
        yield return ["zero-size tensor inside another", FileOf("{\"a\":" + F32x2 + ",\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", new byte[8]), "z", "overlap those of tensor 'a'"];
        yield return ["gap between tensors", FileOf("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]), "b", "bytes [4, 8) of the data buffer covered by no tensor"];
        yield return ["gap before the first tensor", FileOf("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]), "a", "bytes [0, 1)"];
        yield return ["trailing data", FileOf("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[9]), null, "the 5 bytes after them belong to no tensor"];
        yield return ["data without tensors", FileOf("{}", new byte[1]), null, "belong to no tensor"];
        yield return ["metadata not an object", FileOf("{\"__metadata__\":\"x\"}"), "__metadata__", "the metadata is a string"];
        yield return ["metadata null", FileOf("{\"__metadata__\":null}"), "__metadata__", "the metadata is null"];
        yield return ["metadata value a number", FileOf("{\"__metadata__\":{\"k\":1}}"), "__metadata__", "value of 'k' is a number"];
        yield return ["metadata value an object", FileOf("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}"), "__metadata__", "value of 'k' is a JSON object"];
        yield return ["metadata duplicate key", FileOf("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), "__metadata__", "'k' appears more than once"];
        yield return ["metadata twice", FileOf("{\"__metadata__\":{},\"__metadata__\":{}}"), "__metadata__", "appears more than once"];
        yield return ["duplicate tensor key", FileOf("{\"w\":" + F32x2 + ",\"w\":" + F32x2 + "}", new byte[8]), "w", "appears more than once"];
        yield return ["duplicate key through an escape", FileOf("{\"a\":" + F32x2 + ",\"\\u0061\":" + F32x2 + "}", new byte[8]), "a", "appears more than once"];
        yield return ["BOOL byte that is not 0 or 1", FileOf("{\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}", [1, 0, 2]), "m", "BOOL element 2 holds the byte 0x02"];
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Parse_RejectsMalformedInput(string name, byte[] bytes, string? key, string fragment)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Parse(bytes, Source));
        Assert.True(ex.Message.Contains(Source, StringComparison.Ordinal), $"{name}: message lacks the source: {ex.Message}");
        Assert.True(ex.Message.Contains(fragment, StringComparison.Ordinal), $"{name}: message lacks '{fragment}': {ex.Message}");
        Assert.Equal(Source, ex.Path);
        Assert.Equal(key, ex.Key);
        if (key is not null)
            Assert.Contains($"key '{key}'", ex.Message);
        Assert.IsAssignableFrom<IOException>(ex);
    }

    [Fact]
    public void Parse_ErrorMessage_ReadsAsASentence()
    {
        var bytes = FileOf("{\"conv1.core\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,40]}}", new byte[40]);
        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Parse(bytes, "model.safetensors"));
        Assert.Equal(
            "'model.safetensors' is not a valid safetensors file: key 'conv1.core': data_offsets [0, 40] do not match shape [2, 3] of F32 (24 bytes). "
            + "The file is damaged or was not written by a safetensors writer; re-save it.",
            ex.Message);
    }

    [Fact]
    public void Load_ValidatesFiles_AndNamesThePath()
    {
        var path = Path.Combine(_dir, "broken.safetensors");
        using var a = torch.ones(3);
        using var b = torch.zeros(2);
        var good = Safetensors.Serialize(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b });

        File.WriteAllBytes(path, good[..^1]); // truncated: b's offsets now reach past the end
        var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Equal("b", ex.Key);

        File.WriteAllBytes(path, [.. good, 0]); // trailing byte
        ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains(path, ex.Message);
        Assert.Null(ex.Key);

        File.WriteAllBytes(path, FileOf("{\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", [1, 7]));
        ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Equal("m", ex.Key);
        Assert.Contains("0x07", ex.Message);

        File.WriteAllBytes(path, [1, 2, 3]);
        ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains("3 bytes long", ex.Message);

        File.WriteAllBytes(path, Prefix(100_000_001, 0));
        ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path));
        Assert.Contains("100 MB", ex.Message);

        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(Path.Combine(_dir, "missing.safetensors")));
    }

    // ---------------------------------------------------------------------------------------------
    // Atomic save
    // ---------------------------------------------------------------------------------------------

    private byte[] WriteExisting(string path)
    {
        using var old = torch.tensor(new float[] { 7, 8, 9 });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["old"] = old }, new Dictionary<string, string> { ["v"] = "1" });
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void Save_UnsupportedDtype_LeavesTheExistingFileAndNoTemporary()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        var before = WriteExisting(path);

        using var ok = torch.ones(1000);
        using var complex = torch.zeros(new long[] { 4 }, dtype: ScalarType.ComplexFloat32);
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["a"] = ok, ["b"] = complex }));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "model.safetensors" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Save_FailureWhileWritingData_LeavesTheExistingFileAndNoTemporary()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        var before = WriteExisting(path);

        // A meta tensor has a dtype and shape (so the header is written) but no data: copying it to the
        // CPU fails after the temporary file holds the header and the first tensor's bytes.
        using var ok = torch.ones(1000);
        using var meta = torch.empty(new long[] { 4, 4 }, dtype: ScalarType.Float32, device: torch.META);
        var ex = Assert.ThrowsAny<Exception>(() => Safetensors.Save(path, new Dictionary<string, Tensor> { ["a"] = ok, ["b"] = meta }));
        Assert.IsType<InvalidOperationException>(ex);
        Assert.Contains("'b'", ex.Message);
        Assert.Contains("meta tensor", ex.Message);

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "model.safetensors" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
        using var loaded = Safetensors.Load(path);
        Assert.Equal(new float[] { 7, 8, 9 }, loaded.Tensors["old"].data<float>().ToArray());
    }

    [Fact]
    public void Save_ReplacesAnExistingFile()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        WriteExisting(path);
        using var fresh = torch.tensor(new int[] { 1, 2 });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["new"] = fresh });

        using var loaded = Safetensors.Load(path);
        Assert.Equal(new[] { "new" }, loaded.Tensors.Keys);
        Assert.Empty(loaded.Metadata);
        Assert.Equal(new[] { "model.safetensors" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }
}
