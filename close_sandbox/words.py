"""Small vocabularies for realistic-looking generated text."""

FIRST = ["Ada", "Ben", "Carla", "Dmitri", "Elena", "Farah", "Gus", "Hana", "Ivan", "Jade",
         "Kofi", "Lena", "Marco", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara",
         "Umar", "Vera", "Wes", "Xiu", "Yara", "Zoe", "Steli", "Anna", "Jonas", "Mei"]
LAST = ["Abbott", "Berg", "Costa", "Dietrich", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
        "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Petrov", "Quist", "Rossi",
        "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Young", "Zimmer", "Efti", "Nowak"]
COMPANY_A = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
             "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Massive",
             "Blue Sun", "Monarch", "Aperture", "Black Mesa", "Pied Piper", "Dunder", "Bluth"]
COMPANY_B = ["Industries", "Labs", "Holdings", "Systems", "Logistics", "Software", "Partners",
             "Foods", "Dynamics", "Analytics", "Robotics", "Media", "Ventures", "Group", "Inc.",
             "GmbH", "Ltd", "Corp"]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Operations", "Purchasing Manager", "Engineer",
          "Office Manager", "Founder", "CFO", "Account Executive", None]
CITIES = [("San Francisco", "CA", "US"), ("Austin", "TX", "US"), ("New York", "NY", "US"),
          ("Berlin", None, "DE"), ("London", None, "GB"), ("Toronto", "ON", "CA"),
          ("Lisbon", None, "PT"), ("Sydney", "NSW", "AU")]
STREETS = ["Market St", "Main Street", "Oak Avenue", "Friedrichstr.", "High Street", "King St W"]
WORDS = ["follow", "up", "pricing", "demo", "contract", "renewal", "budget", "proposal",
         "meeting", "integration", "pilot", "onboarding", "question", "invoice", "quote",
         "timeline", "decision", "call", "next", "steps", "discount", "security", "review"]
INDUSTRIES = ["Software", "Retail", "Manufacturing", "Healthcare", "Finance", "Education", "Media"]
TIMEZONES = ["Europe/Kiev", "America/New_York", "America/Los_Angeles", "Europe/Berlin",
             "Asia/Tokyo", "UTC", "Australia/Sydney"]


def sentence(rng, n_min=3, n_max=9):
    words = [rng.choice(WORDS) for _ in range(rng.randint(n_min, n_max))]
    return " ".join(words).capitalize() + "."


def paragraph(rng, n=3):
    return " ".join(sentence(rng) for _ in range(n))


def company(rng):
    return "%s %s" % (rng.choice(COMPANY_A), rng.choice(COMPANY_B))


def person(rng):
    return rng.choice(FIRST), rng.choice(LAST)
