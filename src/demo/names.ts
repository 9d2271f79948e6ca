/**
 * Invented people and places. Names are common US first and last names combined at random, so
 * they read as plausible without describing anyone; towns, the practice and the specialists are
 * made up; phone numbers use the 555-01xx range reserved for fiction, e-mail uses example domains.
 */
import type { Random } from './random.ts';

// prettier-ignore
export const FEMALE_NAMES = [
  'Olivia', 'Emma', 'Ava', 'Sophia', 'Isabella', 'Mia', 'Amelia', 'Harper', 'Evelyn', 'Abigail',
  'Emily', 'Elizabeth', 'Sofia', 'Avery', 'Ella', 'Scarlett', 'Grace', 'Chloe', 'Victoria', 'Riley',
  'Aria', 'Lily', 'Aubrey', 'Zoey', 'Penelope', 'Layla', 'Nora', 'Hannah', 'Addison', 'Eleanor',
  'Stella', 'Natalie', 'Leah', 'Hazel', 'Violet', 'Aurora', 'Savannah', 'Audrey', 'Brooklyn', 'Bella',
  'Claire', 'Lucy', 'Anna', 'Samantha', 'Caroline', 'Genesis', 'Kennedy', 'Maya', 'Naomi', 'Ruth',
  'Margaret', 'Patricia', 'Linda', 'Barbara', 'Susan', 'Karen', 'Nancy', 'Donna', 'Carol', 'Sandra',
  'Deborah', 'Sharon', 'Cynthia', 'Kathleen', 'Janet', 'Teresa', 'Gloria', 'Rosa', 'Lucia', 'Mariana',
  'Priya', 'Mei', 'Aisha', 'Fatima', 'Yasmin', 'Ingrid', 'Colleen', 'Bridget', 'Denise', 'Rhonda',
];

// prettier-ignore
export const MALE_NAMES = [
  'Liam', 'Noah', 'Oliver', 'Elijah', 'James', 'William', 'Benjamin', 'Lucas', 'Henry', 'Theodore',
  'Jack', 'Levi', 'Alexander', 'Jackson', 'Mateo', 'Daniel', 'Michael', 'Mason', 'Sebastian', 'Ethan',
  'Logan', 'Owen', 'Samuel', 'Jacob', 'Asher', 'Aiden', 'John', 'Joseph', 'Wyatt', 'David',
  'Leo', 'Luke', 'Julian', 'Hudson', 'Grayson', 'Matthew', 'Ezra', 'Gabriel', 'Carter', 'Isaac',
  'Robert', 'Richard', 'Thomas', 'Charles', 'Christopher', 'Mark', 'Donald', 'Steven', 'Paul', 'Andrew',
  'Kenneth', 'Kevin', 'Brian', 'George', 'Timothy', 'Ronald', 'Edward', 'Jason', 'Jeffrey', 'Gary',
  'Raymond', 'Dennis', 'Walter', 'Harold', 'Eugene', 'Ralph', 'Roy', 'Louis', 'Russell', 'Wayne',
  'Rafael', 'Diego', 'Arjun', 'Wei', 'Omar', 'Tariq', 'Malik', 'Andre', 'Dmitri', 'Anders',
];

// prettier-ignore
export const LAST_NAMES = [
  'Abbott', 'Alvarez', 'Ashford', 'Barlow', 'Bennett', 'Bishop', 'Blackwell', 'Brennan', 'Brooks', 'Calloway',
  'Carver', 'Castillo', 'Chandler', 'Chen', 'Coleman', 'Conway', 'Crane', 'Dalton', 'Delgado', 'Donovan',
  'Dunbar', 'Ellison', 'Emerson', 'Farrell', 'Fischer', 'Fleming', 'Fontaine', 'Foster', 'Garland', 'Garza',
  'Gibson', 'Goodwin', 'Greer', 'Hale', 'Hammond', 'Harper', 'Hartley', 'Hayes', 'Holloway', 'Hughes',
  'Ingram', 'Jansen', 'Jennings', 'Kaplan', 'Keller', 'Kendrick', 'Kim', 'Kowalski', 'Lambert', 'Lawson',
  'Lindqvist', 'Lowell', 'Maddox', 'Marsh', 'McAllister', 'Medina', 'Mercer', 'Monroe', 'Moreno', 'Nakamura',
  'Nash', 'Navarro', 'Nguyen', "O'Connell", 'Okafor', 'Ortega', 'Osborne', 'Padilla', 'Park', 'Patel',
  'Pennington', 'Porter', 'Quinn', 'Ramsey', 'Reyes', 'Rhodes', 'Rios', 'Rowland', 'Russo', 'Sandoval',
  'Santos', 'Sawyer', 'Schultz', 'Shaw', 'Sinclair', 'Sloan', 'Stanton', 'Sullivan', 'Tanaka', 'Thornton',
  'Townsend', 'Tucker', 'Underwood', 'Vance', 'Vargas', 'Vaughn', 'Walsh', 'Webster', 'Whitaker', 'Wolfe',
  'Yates', 'Young', 'Zamora', 'Zimmerman', 'Adeyemi', 'Bauer', 'Contreras', 'Duarte', 'Eriksen', 'Haddad',
];

// prettier-ignore
const STREETS = [
  'Maple', 'Oak', 'Cedar', 'Elm', 'Birch', 'Willow', 'Chestnut', 'Walnut', 'Spruce', 'Hickory',
  'Orchard', 'Mill', 'Church', 'Meadow', 'Ridge', 'Lake', 'Hillside', 'Forest', 'Sunset', 'River',
  'Quarry', 'Garden', 'Highland', 'Laurel', 'Juniper', 'Bramble', 'Foxglove', 'Kestrel', 'Larkspur', 'Tamarack',
];
const STREET_KINDS = ['St', 'Ave', 'Rd', 'Ln', 'Dr', 'Ct', 'Way', 'Pl'];

/** Invented towns around the practice; the first is the practice's own. */
// prettier-ignore
export const TOWNS = [
  'Brightwater', 'Millbrook', 'Alder Falls', 'Fenwick Crossing', 'Harlow Glen', 'Linden Grove', 'Oakmere', 'Pine Hollow', 'Ravensford', 'Thornbury',
  'Westbrook Mills', 'Cobble Hill',
];

/** Region-flavoured details (state, area codes, ZIP prefix) matched to the practice's time zone. */
export interface Region {
  state: string;
  stateName: string;
  areaCodes: string[];
  zipPrefix: string;
}

const REGIONS: Record<string, Region> = {
  'America/New_York': {
    state: 'PA',
    stateName: 'Pennsylvania',
    areaCodes: ['717', '570', '814'],
    zipPrefix: '17',
  },
  'America/Chicago': {
    state: 'IL',
    stateName: 'Illinois',
    areaCodes: ['217', '309', '618'],
    zipPrefix: '61',
  },
  'America/Denver': { state: 'CO', stateName: 'Colorado', areaCodes: ['970', '719'], zipPrefix: '80' },
  'America/Phoenix': { state: 'AZ', stateName: 'Arizona', areaCodes: ['928', '520'], zipPrefix: '85' },
  'America/Los_Angeles': { state: 'OR', stateName: 'Oregon', areaCodes: ['541', '503'], zipPrefix: '97' },
  'America/Anchorage': { state: 'AK', stateName: 'Alaska', areaCodes: ['907'], zipPrefix: '99' },
  'Pacific/Honolulu': { state: 'HI', stateName: 'Hawaii', areaCodes: ['808'], zipPrefix: '96' },
};

export const regionFor = (timeZone: string): Region => REGIONS[timeZone] ?? REGIONS['America/New_York'];

export interface PersonName {
  given: string[];
  family: string;
}

export function personName(rng: Random, gender: 'male' | 'female', family?: string): PersonName {
  const first = rng.pick(gender === 'female' ? FEMALE_NAMES : MALE_NAMES);
  const given = [first];
  if (rng.chance(0.55)) {
    let middle = rng.pick(gender === 'female' ? FEMALE_NAMES : MALE_NAMES);
    if (middle === first) middle = rng.pick(LAST_NAMES).replace("'", '');
    given.push(middle);
  }
  return { given, family: family ?? rng.pick(LAST_NAMES) };
}

export const displayName = (name: PersonName) => `${name.given[0]} ${name.family}`;

/** A fictional phone number: real-looking area code, exchange 555, line 0100-0199. */
export const phoneNumber = (rng: Random, region: Region) =>
  `${rng.pick(region.areaCodes)}-555-01${rng.digits(2)}`;

export function email(rng: Random, name: PersonName): string {
  const local = `${name.given[0]}.${name.family}`.toLowerCase().replace(/[^a-z.]/g, '');
  return `${local}${rng.int(1, 99)}@${rng.pick(['example.com', 'example.net', 'example.org'])}`;
}

export interface PostalAddress {
  line: string[];
  city: string;
  state: string;
  postalCode: string;
  country: string;
}

export function homeAddress(rng: Random, region: Region): PostalAddress {
  const townIndex = rng.weighted(TOWNS.map((_, i) => [i, i === 0 ? 6 : i < 5 ? 3 : 1] as const));
  const line = [`${rng.int(12, 4980)} ${rng.pick(STREETS)} ${rng.pick(STREET_KINDS)}`];
  if (rng.chance(0.12)) line.push(`Apt ${rng.int(1, 40)}${rng.pick(['', 'A', 'B'])}`);
  return {
    line,
    city: TOWNS[townIndex],
    state: region.state,
    postalCode: `${region.zipPrefix}${String(300 + townIndex * 7).padStart(3, '0')}`,
    country: 'US',
  };
}
