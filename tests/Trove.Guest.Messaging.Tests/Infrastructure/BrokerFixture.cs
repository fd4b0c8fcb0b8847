[assembly: AssemblyFixture(typeof(Trove.Guest.Testing.BrokerFixture))]
