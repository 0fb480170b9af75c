"""Scrape /metrics like Prometheus and read values from what it parsed."""

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scrape-9f2c1d7a4b6e8f0a"


class Scrape:
    """The samples of one scrape, by name and labels."""

    def __init__(self, text: str):
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when no such sample was exported (nothing counted yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}

    def label_values(self, label: str) -> set[str]:
        return {dict(labels)[label] for _, labels in self.samples if label in dict(labels)}


def scrape(client) -> Scrape:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return Scrape(response.content.decode())
