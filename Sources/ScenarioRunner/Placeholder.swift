enum _PlaceholderScenarioRunner {}
