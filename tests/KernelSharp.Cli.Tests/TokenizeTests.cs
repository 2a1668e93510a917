using System.Text.Json;

namespace KernelSharp.Cli.Tests;

public sealed class TokenizeTests
{
    private static readonly string TokenizerGolden = Path.Combine(Fixtures.TinyBf16, "tokenizer_golden.json");

    [Fact]
    public void Jsonl_gives_one_ids_line_per_input_line_equal_to_the_golden_ids()
    {
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllText(TokenizerGolden));
        JsonElement[] cases = golden.RootElement.GetProperty("encode").EnumerateArray().ToArray();
        string input = string.Join('\n', cases.Select(c => JsonSerializer.Serialize(new { text = c.GetProperty("text").GetString() })));

        // The golden ids were made with special tokens (BOS first); without --add-special they start after it.
        CliResult withBos = Cli.RunWithInput(input, "tokenize", "-m", Fixtures.TinyBf16, "--jsonl", "-", "--add-special");
        CliResult plain = Cli.RunWithInput(input, "tokenize", "-m", Fixtures.TinyBf16, "--jsonl", "-");

        Assert.True(withBos.ExitCode == 0, withBos.ToString());
        string[] bosLines = withBos.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] plainLines = plain.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cases.Length, bosLines.Length);
        for (int i = 0; i < cases.Length; i++)
        {
            int[] expected = cases[i].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expected, Ids(bosLines[i]));
            Assert.Equal(expected[1..], Ids(plainLines[i]));
        }
    }

    [Fact]
    public void Text_prints_ids_and_ids_decode_back_to_the_text()
    {
        CliResult encoded = Cli.Run("tokenize", "--tokenizer", Path.Combine(Fixtures.TinyBf16, "tokenizer.json"), "--text", "Hello, world!");
        Assert.True(encoded.ExitCode == 0, encoded.ToString());
        int[] ids = JsonSerializer.Deserialize<int[]>(encoded.Stdout)!;
        Assert.NotEmpty(ids);

        CliResult decoded = Cli.Run("tokenize", "-m", Fixtures.TinyBf16, "--ids", string.Join(',', ids));
        Assert.Equal("Hello, world!\n", decoded.Stdout);
    }

    [Fact]
    public void Text_after_double_dash_is_tokenized_like_text_even_when_it_starts_with_a_dash()
    {
        CliResult operand = Cli.Run("tokenize", "-m", Fixtures.TinyBf16, "--", "--text");
        CliResult option = Cli.Run("tokenize", "-m", Fixtures.TinyBf16, "--text", "--text");
        Assert.True(operand.ExitCode == 0, operand.ToString());
        Assert.Equal(option.Stdout, operand.Stdout);
        Assert.NotEqual("[]", operand.Stdout.Trim());
    }

    [Fact]
    public void A_blank_jsonl_line_gets_an_empty_list_so_output_lines_stay_aligned_with_input_lines()
    {
        string input = "{\"text\": \"Hello\"}\n\n   \n{\"text\": \"world\"}\n";
        CliResult result = Cli.RunWithInput(input, "tokenize", "-m", Fixtures.TinyBf16, "--jsonl", "-", "--add-special");
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n')[..^1];
        Assert.Equal(4, lines.Length);
        Assert.NotEmpty(Ids(lines[0]));
        Assert.Equal("{\"ids\": []}", lines[1]);
        Assert.Equal("{\"ids\": []}", lines[2]);
        int[] world = JsonSerializer.Deserialize<int[]>(Cli.Run("tokenize", "-m", Fixtures.TinyBf16, "--text", "world", "--add-special").Stdout)!;
        Assert.Equal(world, Ids(lines[3]));
    }

    [Fact]
    public void A_malformed_jsonl_line_is_a_one_line_error_naming_file_and_line()
    {
        using var temp = new TempDirectory();
        string input = temp.Combine("in.jsonl");
        File.WriteAllText(input, "{\"text\": \"ok\"}\n{\"txt\": 3}\n");
        CliResult result = Cli.Run("tokenize", "-m", Fixtures.TinyBf16, "--jsonl", input);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {input}: line 2: expected a JSON object with a string field \"text\"", Assert.Single(result.ErrorLines));
    }

    private static int[] Ids(string line)
    {
        using JsonDocument document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    [Fact]
    public void A_folder_holding_only_the_tokenizer_is_enough()
    {
        using var temp = new TempDirectory();
        File.Copy(Path.Combine(Fixtures.TinyBf16, "tokenizer.json"), temp.Combine("tokenizer.json"));
        CliResult fromFolder = Cli.Run("tokenize", "-m", temp.Path, "--text", "Hello, world!");
        CliResult fromFile = Cli.Run("tokenize", "--tokenizer", Path.Combine(Fixtures.TinyBf16, "tokenizer.json"), "--text", "Hello, world!");
        Assert.True(fromFolder.ExitCode == 0, fromFolder.ToString());
        Assert.Equal(fromFile.Stdout, fromFolder.Stdout);

        File.Delete(temp.Combine("tokenizer.json"));
        CliResult missing = Cli.Run("tokenize", "-m", temp.Path, "--text", "Hello");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("error: " + temp.Combine("tokenizer.json") + ": missing;", missing.Stderr.Trim());
    }
}
