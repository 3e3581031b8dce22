// Deterministic synthetic shop: a catalog with categories, brands, attributes, log-normal prices
// and templated titles/descriptions (with synonyms so lexical search is meaningful), plus users
// whose interaction histories follow their category, brand and price preferences.
// Used by tools/data/generate-catalog.ts and callable in-process by tests and benches.
import { JUDGED_QUERIES_FORMAT, type JudgedQuery, type JudgedQuerySet } from '@ranksafe/ranking-core';
import type { CatalogProduct, UserHistory, UserInteraction } from './catalog';

// ---------------------------------------------------------------------------------------------
// Seeded PRNG

/** mulberry32: a tiny, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Index skewed towards the front (rank-popularity): P(i) ~ 1/(i+1)^s roughly. */
  skewed(n: number, power = 2): number {
    return Math.min(n - 1, Math.floor(n * this.next() ** power));
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** k distinct elements (k clipped to xs.length). */
  sample<T>(xs: readonly T[], k: number): T[] {
    const copy = xs.slice();
    const out: T[] = [];
    for (let i = 0; i < k && copy.length; i++) out.push(copy.splice(this.int(copy.length), 1)[0]!);
    return out;
  }
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}

// ---------------------------------------------------------------------------------------------
// Shop schema. Strings with '|' are lists.

const COLORS =
  'Black|White|Charcoal Grey|Light Grey|Navy Blue|Emerald Green|Sage Green|Mustard Yellow|Terracotta|Blush Pink|Ivory|Beige|Walnut Brown|Burgundy|Teal|Rust Orange|Cream|Slate Blue|Olive|Sand';
const TECH_COLORS = 'Black|White|Silver|Space Grey|Midnight Blue|Rose Gold|Graphite|Sage Green|Red';
const APPAREL_COLORS = 'Black|White|Heather Grey|Navy|Olive|Burgundy|Camel|Forest Green|Sky Blue|Oatmeal|Charcoal|Dusty Rose';
const METAL = 'Brushed Brass|Matte Black|Chrome|Brushed Nickel|Antique Bronze|Gold|Satin White';
const BED_SIZES = 'Twin|Full|Queen|King|California King';
const GENDER = "Men's|Women's|Unisex";
const AGES = 'Ages 3+|Ages 5+|Ages 6+|Ages 8+|Ages 10+|Ages 12+|Ages 14+';

interface SubSpec {
  /** Subcategory name ("Sofas"). */
  name: string;
  /** Title nouns. */
  n: string;
  /** Description synonyms (lower case); defaults to the title nouns. */
  syn?: string;
  /** Attribute pools. */
  a: Record<string, string>;
  /** Attributes placed before the noun in the title, in order. */
  pre?: string;
  /** Attributes after the noun, comma-separated. */
  post?: string;
  /** Median price and log-normal sigma. */
  price: number;
  sigma?: number;
  /** Feature phrases and use cases for descriptions. */
  f: string;
  u: string;
  /** Relative share of the catalog (default 1). */
  w?: number;
}

interface TopSpec {
  name: string;
  brands: string;
  subs: SubSpec[];
}

const SHOP: TopSpec[] = [
  {
    name: 'Furniture',
    brands: 'Nordhaven|Oakhurst|Linden & Co|Mavra|Casavela|Birchline|Hollis Home|Aldervik|Hearthline',
    subs: [
      {
        name: 'Sofas',
        n: 'Sofa|Couch|Settee',
        syn: 'sofa|couch|settee|loveseat',
        a: {
          style: '3-Seater|2-Seater|Sectional|Sleeper|Chesterfield|Mid-Century|Modular|Chaise',
          material: 'Velvet|Linen|Bouclé|Leather|Faux Leather|Performance Fabric|Chenille|Corduroy',
          color: COLORS,
          legs: 'Oak Legs|Walnut Legs|Black Metal Legs|Brass Legs',
        },
        pre: 'style material',
        post: 'color',
        price: 850,
        f: 'deep, feather-blend seat cushions|removable, washable covers|a kiln-dried hardwood frame|pocket-spring support|solid wood tapered legs|a reversible chaise|no-sag sinuous springs|stain-resistant upholstery',
        u: 'movie nights|small apartments|family living rooms|lounging with a book|hosting guests|open-plan spaces',
        w: 1.4,
      },
      {
        name: 'Armchairs',
        n: 'Armchair|Accent Chair|Lounge Chair|Club Chair|Wingback Chair',
        syn: 'armchair|accent chair|reading chair|lounge chair|chair',
        a: {
          material: 'Velvet|Linen|Bouclé|Leather|Rattan|Performance Fabric|Sheepskin',
          color: COLORS,
          base: 'Swivel Base|Oak Legs|Metal Sled Base|Rocking Base',
        },
        pre: 'material',
        post: 'color',
        price: 320,
        f: 'a high, supportive back|plush foam-wrapped cushions|a 360-degree swivel|channel-stitched upholstery|wide, padded arms|a solid beech frame',
        u: 'reading nooks|bedroom corners|living rooms|nurseries|home offices',
      },
      {
        name: 'Dining Tables',
        n: 'Dining Table|Kitchen Table|Extendable Dining Table|Pedestal Table',
        syn: 'dining table|kitchen table|dinner table|table',
        a: {
          shape: 'Round|Rectangular|Oval|Square',
          material: 'Solid Oak|Walnut|Reclaimed Pine|Marble|Tempered Glass|Acacia Wood|Mango Wood|Travertine',
          seats: 'Seats 4|Seats 6|Seats 8|Seats 10',
          finish: 'Natural|Espresso|Whitewash|Black|Honey',
        },
        pre: 'shape material',
        post: 'seats',
        price: 650,
        f: 'a butterfly leaf extension|solid hardwood legs|a heat-resistant lacquer|a sturdy trestle base|rounded, child-friendly corners|a hand-rubbed oil finish',
        u: 'family dinners|holiday gatherings|small dining rooms|eat-in kitchens|game nights',
      },
      {
        name: 'Office Chairs',
        n: 'Office Chair|Desk Chair|Task Chair|Ergonomic Chair|Executive Chair',
        syn: 'office chair|desk chair|computer chair|work chair',
        a: {
          material: 'Mesh|Leather|Fabric|Faux Leather|Knit',
          color: 'Black|Grey|White|Navy Blue|Beige',
          support: 'Lumbar Support|Adjustable Headrest|4D Armrests|Synchro Tilt|Seat Slider',
          capacity: '250 lb|300 lb|350 lb|400 lb',
        },
        pre: 'material',
        post: 'color',
        price: 240,
        sigma: 0.55,
        f: 'adjustable lumbar support|a breathable mesh back|smooth-rolling casters|height-adjustable armrests|a tilt lock|a waterfall seat edge',
        u: 'long work days|home offices|gaming setups|study desks|standing desk setups',
      },
      {
        name: 'Bookcases',
        n: 'Bookcase|Bookshelf|Shelving Unit|Ladder Shelf|Cube Organizer',
        syn: 'bookcase|bookshelf|shelving|shelves|shelving unit',
        a: {
          tiers: '3-Tier|4-Tier|5-Tier|6-Cube|9-Cube',
          material: 'Oak|Walnut|White Oak|Pine|Metal and Wood|Bamboo|Engineered Wood',
          color: 'White|Black|Natural|Walnut Brown|Grey|Sage Green',
        },
        pre: 'tiers material',
        post: 'color',
        price: 180,
        f: 'adjustable shelves|anti-tip wall anchors|an open-back design|a powder-coated steel frame|tool-free assembly|deep shelves for large books',
        u: 'home libraries|living rooms|kids rooms|displaying plants and decor|small spaces',
      },
      {
        name: 'Beds',
        n: 'Bed Frame|Platform Bed|Storage Bed|Canopy Bed',
        syn: 'bed|bed frame|bedstead|platform bed',
        a: {
          size: BED_SIZES,
          material: 'Upholstered|Solid Wood|Metal|Rattan|Velvet Upholstered|Cane',
          color: COLORS,
        },
        pre: 'size material',
        post: 'color',
        price: 550,
        f: 'a padded headboard|under-bed storage drawers|a slatted base with no box spring needed|whisper-quiet joints|a low-profile silhouette|gas-lift storage',
        u: 'master bedrooms|guest rooms|small bedrooms|teen rooms|studio apartments',
      },
      {
        name: 'Coffee Tables',
        n: 'Coffee Table|Cocktail Table|Lift-Top Coffee Table|Nesting Tables',
        syn: 'coffee table|center table|cocktail table|living room table',
        a: {
          shape: 'Round|Rectangular|Oval|Square',
          material: 'Solid Oak|Walnut|Marble|Tempered Glass|Travertine|Reclaimed Wood|Rattan',
          color: 'Natural|Black|White|Walnut Brown|Grey',
        },
        pre: 'shape material',
        post: 'color',
        price: 230,
        f: 'a lift-top work surface|a lower storage shelf|hidden drawers|a solid plinth base|rounded edges|a sealed, water-resistant top',
        u: 'living rooms|small apartments|entertaining|family rooms',
      },
    ],
  },
  {
    name: 'Home',
    brands: 'Lumenhaus|Loomcraft|Hearth & Pine|Brightwell|Atelier Noor|Softhaven|Wovenly|Glimmer & Co|Hearthline',
    subs: [
      {
        name: 'Lighting',
        n: 'Floor Lamp|Table Lamp|Pendant Light|Ceiling Light|Wall Sconce|Arc Lamp|Chandelier',
        syn: 'lamp|light|light fixture|lighting',
        a: {
          finish: METAL,
          shade: 'Linen Shade|Glass Shade|Rattan Shade|Paper Shade|Metal Shade|Opal Globe',
          bulb: 'LED Bulb Included|E26 Base|E12 Base|Integrated LED|Smart Bulb Compatible',
          wattage: '40W|60W|9W LED|12W LED|100W',
        },
        pre: 'finish',
        post: 'shade',
        price: 95,
        sigma: 0.6,
        f: 'a dimmable switch|warm white light|an adjustable arm|a weighted base|a braided fabric cord|a 3-way touch control',
        u: 'reading corners|bedside tables|living rooms|entryways|kitchen islands|home offices',
        w: 1.3,
      },
      {
        name: 'Rugs',
        n: 'Area Rug|Rug|Runner Rug|Washable Rug',
        syn: 'rug|carpet|area rug|mat',
        a: {
          pattern: 'Moroccan|Persian|Geometric|Abstract|Solid|Striped|Vintage Distressed|Bohemian|Trellis',
          material: 'Wool|Jute|Cotton|Polypropylene|Viscose|Sisal|Shag',
          color: COLORS,
          size: '5x8 ft|8x10 ft|2x3 ft|9x12 ft|6 ft Round|2.5x8 ft',
        },
        pre: 'pattern material',
        post: 'color size',
        price: 180,
        sigma: 0.6,
        f: 'a low, easy-clean pile|a non-slip backing|machine-washable construction|hand-knotted craftsmanship|a fade-resistant weave|soft, shed-free fibres',
        u: 'living rooms|hallways|bedrooms|homes with pets and kids|dining areas|entryways',
      },
      {
        name: 'Curtains',
        n: 'Curtains|Drapes|Curtain Panels|Window Curtains',
        syn: 'curtains|drapes|window treatments|curtain panels',
        a: {
          light_control: 'Blackout|Room Darkening|Light Filtering|Sheer',
          material: 'Linen|Velvet|Cotton|Polyester|Voile',
          color: COLORS,
          length: '63 in|84 in|96 in|108 in',
        },
        pre: 'light_control material',
        post: 'color length',
        price: 45,
        f: 'thermal insulated lining|rod-pocket and back-tab headers|grommet tops|pinch pleats|a wrinkle-resistant weave|noise-reducing layers',
        u: 'bedrooms|nurseries|living rooms|sliding doors|day sleepers',
      },
      {
        name: 'Wall Art',
        n: 'Canvas Print|Framed Print|Wall Art Set|Poster|Gallery Wall Set',
        syn: 'wall art|artwork|print|wall decor|picture',
        a: {
          subject: 'Abstract|Botanical|Coastal|Mountain Landscape|Black and White Photography|Minimalist Line Art|Vintage Map|Modern Geometric',
          size: '12x16 in|18x24 in|24x36 in|30x40 in',
          frame: 'Black Frame|Oak Frame|Gold Frame|Unframed|White Frame',
        },
        pre: 'subject',
        post: 'size',
        price: 70,
        sigma: 0.6,
        f: 'archival, fade-resistant inks|ready-to-hang hardware|a gallery-wrapped canvas|a museum-quality matte|shatter-resistant acrylic glazing',
        u: 'living rooms|above the sofa|bedrooms|home offices|hallway galleries',
      },
      {
        name: 'Mirrors',
        n: 'Wall Mirror|Floor Mirror|Vanity Mirror|Full Length Mirror',
        syn: 'mirror|wall mirror|looking glass',
        a: {
          shape: 'Round|Arched|Rectangular|Oval|Sunburst|Irregular',
          frame: 'Brass Frame|Black Metal Frame|Rattan Frame|Oak Frame|Frameless',
          size: '24 in|30 in|36 in|65 in',
        },
        pre: 'shape',
        post: 'frame',
        price: 120,
        f: 'shatter-resistant glass|a keyhole hanging system|a lean-or-hang design|beveled edges|a slim profile',
        u: 'entryways|bathrooms|bedrooms|making small rooms feel larger|dressing areas',
      },
      {
        name: 'Candles',
        n: 'Scented Candle|Candle|Soy Candle|Candle Set|Reed Diffuser',
        syn: 'candle|scented candle|home fragrance|diffuser',
        a: {
          scent: 'Lavender|Vanilla|Sandalwood|Fig|Sea Salt|Cedarwood|Eucalyptus|Amber|Fresh Linen|Pumpkin Spice',
          size: '8 oz|12 oz|16 oz|3-Pack',
          wax: 'Soy Wax|Coconut Wax|Beeswax',
        },
        pre: 'scent',
        post: 'size',
        price: 24,
        f: 'a cotton wick|a 60-hour burn time|essential oil fragrance|a reusable glass vessel|a clean, soot-free burn',
        u: 'relaxing evenings|gifts|bath time|cozy nights in',
      },
    ],
  },
  {
    name: 'Kitchen',
    brands: 'Copperleaf|Chefora|Ironvale|Kitchora|Brightpan|Saltmoor|Verano Kitchen|Hearthline',
    subs: [
      {
        name: 'Cookware',
        n: 'Frying Pan|Skillet|Saucepan|Dutch Oven|Cookware Set|Stock Pot|Wok|Saute Pan',
        syn: 'pan|pot|cookware|skillet|frying pan',
        a: {
          material: 'Cast Iron|Stainless Steel|Nonstick|Carbon Steel|Enameled Cast Iron|Copper|Hard-Anodized Aluminum|Ceramic Nonstick',
          size: '8 in|10 in|12 in|3 qt|5.5 qt|7 qt|10-Piece|12-Piece',
          stove: 'Induction Compatible|Gas and Electric|Oven Safe to 500F',
          color: 'Black|Red|Cream|Sage Green|Navy Blue|Silver',
        },
        pre: 'material',
        post: 'size',
        price: 75,
        sigma: 0.65,
        f: 'even heat distribution|a PFOA-free nonstick coating|stay-cool handles|a tight-fitting lid|tri-ply construction|a pre-seasoned surface|pour spouts',
        u: 'searing steaks|everyday cooking|braising and slow cooking|stir-fries|weeknight dinners|induction hobs',
        w: 1.3,
      },
      {
        name: 'Knives',
        n: "Chef's Knife|Knife Set|Santoku Knife|Paring Knife|Bread Knife|Knife Block Set",
        syn: 'knife|kitchen knife|cutlery|blade',
        a: {
          steel: 'German Stainless Steel|Japanese VG-10 Steel|Damascus Steel|High-Carbon Steel',
          handle: 'Pakkawood Handle|Olive Wood Handle|Black Composite Handle|Walnut Handle',
          length: '3.5 in|6 in|8 in|10 in',
        },
        pre: 'length steel',
        post: 'handle',
        price: 80,
        sigma: 0.7,
        f: 'a razor-sharp 15-degree edge|a full tang|an ergonomic handle|a hand-honed blade|a protective sheath',
        u: 'slicing vegetables|carving roasts|everyday prep|home chefs|crusty bread',
      },
      {
        name: 'Blenders',
        n: 'Blender|Countertop Blender|Personal Blender|Smoothie Blender|Immersion Blender',
        syn: 'blender|smoothie maker|mixer|food processor',
        a: {
          wattage: '600W|900W|1200W|1500W',
          capacity: '20 oz|48 oz|64 oz|72 oz',
          color: 'Black|White|Stainless Steel|Red|Sage Green',
        },
        pre: 'wattage',
        post: 'color',
        price: 110,
        sigma: 0.6,
        f: 'variable speed control|a pulse function|a BPA-free jar|stainless steel blades|preset programs|a self-cleaning mode',
        u: 'smoothies|crushing ice|soups and sauces|nut butters|protein shakes',
      },
      {
        name: 'Coffee Makers',
        n: 'Coffee Maker|Espresso Machine|Drip Coffee Maker|Pour-Over Coffee Maker|French Press|Coffee Grinder|Cold Brew Maker',
        syn: 'coffee maker|coffee machine|brewer|espresso machine',
        a: {
          capacity: '12-Cup|10-Cup|8-Cup|Single-Serve|34 oz',
          color: 'Black|White|Stainless Steel|Cream|Red',
          feature: 'Programmable Timer|Milk Frother|Built-In Grinder|Thermal Carafe|Keep-Warm Plate',
        },
        pre: 'capacity',
        post: 'color',
        price: 130,
        sigma: 0.8,
        f: 'a programmable timer|a built-in burr grinder|a steam wand for lattes|a thermal carafe|a reusable filter|bloom control',
        u: 'morning coffee|lattes and cappuccinos|busy mornings|offices|coffee lovers',
      },
      {
        name: 'Food Storage',
        n: 'Food Storage Containers|Meal Prep Containers|Canister Set|Storage Jars|Lunch Box',
        syn: 'containers|food storage|canisters|jars|tupperware',
        a: {
          count: '3-Piece|5-Piece|10-Piece|24-Piece',
          material: 'Glass|BPA-Free Plastic|Stainless Steel|Ceramic|Borosilicate Glass',
          lid: 'Bamboo Lids|Snap Lids|Airtight Lids|Silicone Lids',
        },
        pre: 'count material',
        post: 'lid',
        price: 30,
        f: 'airtight, leak-proof seals|stackable shapes|microwave-safe bases|dishwasher-safe parts|clear sides to see contents',
        u: 'meal prep|pantry organization|leftovers|packed lunches|dry goods like flour and pasta',
      },
      {
        name: 'Dinnerware',
        n: 'Dinnerware Set|Dinner Plates|Bowls|Mugs|Serving Platter',
        syn: 'dinnerware|dishes|plates|tableware',
        a: {
          material: 'Stoneware|Porcelain|Bone China|Melamine|Reactive Glaze Ceramic',
          count: '4-Piece|12-Piece|16-Piece|Set of 6',
          color: 'White|Speckled Cream|Matte Black|Sage Green|Blue|Terracotta',
        },
        pre: 'count material',
        post: 'color',
        price: 60,
        f: 'a chip-resistant glaze|microwave- and dishwasher-safe stoneware|hand-finished edges|stackable designs',
        u: 'everyday meals|dinner parties|holiday tables|gifting',
      },
    ],
  },
  {
    name: 'Electronics',
    brands: 'Voltique|Sonaro|Arcwave|Pixelon|Helixa|Quantra|Zentro|Lumora|Kestrel Audio',
    subs: [
      {
        name: 'Headphones',
        n: 'Wireless Headphones|Over-Ear Headphones|Earbuds|True Wireless Earbuds|Noise Cancelling Headphones|On-Ear Headphones',
        syn: 'headphones|headset|earphones|earbuds|cans',
        a: {
          connectivity: 'Bluetooth 5.3|Wired|Bluetooth 5.0|Bluetooth with USB-C',
          battery: '20-Hour Battery|30-Hour Battery|40-Hour Battery|60-Hour Battery',
          noise_control: 'Active Noise Cancelling|Passive Isolation|Adaptive ANC',
          color: TECH_COLORS,
        },
        post: 'color',
        price: 120,
        sigma: 0.65,
        f: 'active noise cancelling|a transparency mode|memory foam ear cushions|a foldable design|multipoint pairing|fast USB-C charging|a sweat-resistant build',
        u: 'commuting|working out|long flights|working from home|gaming',
        w: 1.4,
      },
      {
        name: 'Speakers',
        n: 'Bluetooth Speaker|Portable Speaker|Smart Speaker|Soundbar|Bookshelf Speakers|Party Speaker',
        syn: 'speaker|speakers|sound system|soundbar',
        a: {
          wattage: '10W|20W|40W|60W|120W',
          waterproof: 'IPX7 Waterproof|IPX5 Splash-Proof|Indoor Use',
          color: TECH_COLORS,
        },
        post: 'color',
        price: 90,
        sigma: 0.7,
        f: 'deep, punchy bass|360-degree sound|a built-in voice assistant|stereo pairing|a rugged, waterproof shell|a 24-hour battery',
        u: 'parties|the beach|home theater|the kitchen|camping trips',
      },
      {
        name: 'Laptops',
        n: 'Laptop|Notebook|Ultrabook|2-in-1 Laptop|Gaming Laptop|Chromebook',
        syn: 'laptop|notebook computer|computer|notebook',
        a: {
          screen: '13.3 in|14 in|15.6 in|16 in|17.3 in',
          ram: '8GB RAM|16GB RAM|32GB RAM',
          storage: '256GB SSD|512GB SSD|1TB SSD|2TB SSD',
          color: 'Silver|Space Grey|Black|Midnight Blue',
        },
        pre: 'screen',
        post: 'ram storage',
        price: 900,
        sigma: 0.45,
        f: 'an all-day battery|a backlit keyboard|a high-refresh display|a fingerprint reader|Thunderbolt ports|a lightweight aluminium chassis',
        u: 'students|remote work|gaming|video editing|travel',
      },
      {
        name: 'Monitors',
        n: 'Monitor|Computer Monitor|Gaming Monitor|Ultrawide Monitor|Portable Monitor',
        syn: 'monitor|display|screen',
        a: {
          screen: '24 in|27 in|32 in|34 in',
          resolution: '1080p Full HD|1440p QHD|4K UHD',
          refresh: '60Hz|75Hz|144Hz|165Hz|240Hz',
          panel: 'IPS|VA|OLED',
        },
        pre: 'screen resolution',
        post: 'refresh',
        price: 280,
        sigma: 0.55,
        f: 'an ultra-thin bezel|a height-adjustable stand|HDR support|USB-C with power delivery|a flicker-free panel|built-in speakers',
        u: 'dual-screen setups|gaming|photo editing|home offices|coding',
      },
      {
        name: 'Smartwatches',
        n: 'Smartwatch|Fitness Tracker|GPS Watch|Kids Smartwatch',
        syn: 'smartwatch|watch|fitness tracker|wearable',
        a: {
          size: '40mm|42mm|44mm|46mm',
          band: 'Silicone Band|Leather Band|Metal Band|Nylon Band',
          battery: '5-Day Battery|7-Day Battery|14-Day Battery',
          color: TECH_COLORS,
        },
        pre: 'size',
        post: 'color',
        price: 180,
        sigma: 0.6,
        f: 'heart-rate and sleep tracking|built-in GPS|an always-on AMOLED display|contactless payments|water resistance to 50 m',
        u: 'running|swimming|everyday fitness|sleep tracking|staying connected',
      },
      {
        name: 'Chargers',
        n: 'USB-C Charger|Wireless Charger|Power Bank|Charging Station|Charging Cable',
        syn: 'charger|power adapter|charging brick|cable',
        a: {
          wattage: '20W|30W|65W|100W|140W',
          ports: '1-Port|2-Port|3-Port|4-Port',
          color: 'Black|White|Grey',
        },
        pre: 'wattage',
        post: 'ports',
        price: 30,
        sigma: 0.6,
        f: 'GaN fast charging|a foldable plug|overheat protection|a braided cable|MagSafe-compatible alignment',
        u: 'travel|phones and laptops|nightstands|road trips',
      },
    ],
  },
  {
    name: 'Beauty',
    brands: 'Glowen|Velura|Purelle|Botanica Lab|Aurelie|Dermaly|Solenne|Maison Iris',
    subs: [
      {
        name: 'Skincare',
        n: 'Face Moisturizer|Serum|Facial Cleanser|Night Cream|Eye Cream|Sunscreen SPF 50|Toner|Face Mask',
        syn: 'skincare|moisturiser|face cream|serum|cleanser',
        a: {
          ingredient: 'Hyaluronic Acid|Vitamin C|Retinol|Niacinamide|Ceramide|Salicylic Acid|Squalane|Peptide',
          skin_type: 'For Dry Skin|For Oily Skin|For Sensitive Skin|For Combination Skin|For All Skin Types',
          size: '30 ml|50 ml|100 ml|150 ml',
        },
        pre: 'ingredient',
        post: 'size',
        price: 28,
        sigma: 0.65,
        f: 'a lightweight, non-greasy texture|fragrance-free formula|dermatologist-tested ingredients|a vegan, cruelty-free formula|a pump bottle',
        u: 'daily hydration|anti-aging routines|acne-prone skin|morning and night routines|dullness and dark spots',
        w: 1.3,
      },
      {
        name: 'Haircare',
        n: 'Shampoo|Conditioner|Hair Mask|Hair Oil|Leave-In Conditioner|Dry Shampoo',
        syn: 'hair care|shampoo|conditioner|hair treatment',
        a: {
          ingredient: 'Argan Oil|Keratin|Coconut Oil|Biotin|Tea Tree|Rosemary|Shea Butter',
          hair_type: 'For Curly Hair|For Fine Hair|For Color-Treated Hair|For Damaged Hair|For All Hair Types',
          size: '250 ml|400 ml|1 L',
        },
        pre: 'ingredient',
        post: 'size',
        price: 18,
        sigma: 0.55,
        f: 'sulfate-free cleansing|frizz control|a salon-grade formula|heat protection|a light, fresh scent',
        u: 'dry, brittle hair|curls and coils|daily washing|color protection|split ends',
      },
      {
        name: 'Makeup',
        n: 'Lipstick|Mascara|Foundation|Eyeshadow Palette|Concealer|Blush|Eyeliner|Lip Gloss',
        syn: 'makeup|cosmetics|make-up',
        a: {
          finish: 'Matte|Satin|Dewy|Shimmer|Natural',
          shade: 'Nude|Ruby Red|Berry|Coral|Ivory|Warm Beige|Deep Espresso|Rose|Mocha',
          wear: '24-Hour Wear|Long-Lasting|Waterproof|Smudge-Proof',
        },
        pre: 'finish',
        post: 'shade',
        price: 22,
        sigma: 0.55,
        f: 'buildable coverage|a transfer-proof formula|highly pigmented color|a creamy, blendable texture|a built-in mirror',
        u: 'everyday looks|nights out|weddings|natural no-makeup looks',
      },
      {
        name: 'Fragrance',
        n: 'Eau de Parfum|Eau de Toilette|Perfume|Cologne|Body Mist',
        syn: 'fragrance|perfume|scent|cologne',
        a: {
          notes: 'Floral|Woody|Citrus|Oriental|Fresh Aquatic|Gourmand|Musky|Green',
          size: '30 ml|50 ml|100 ml',
          gender: 'For Women|For Men|Unisex',
        },
        pre: 'notes',
        post: 'size',
        price: 65,
        sigma: 0.6,
        f: 'top notes of bergamot|a heart of jasmine|a warm amber base|long-lasting sillage|a refillable bottle',
        u: 'evenings out|everyday wear|gifts|summer days|the office',
      },
      {
        name: 'Hair Tools',
        n: 'Hair Dryer|Flat Iron|Curling Iron|Hair Straightener|Hot Air Brush|Curling Wand',
        syn: 'hair tool|styler|dryer|straightener',
        a: {
          tech: 'Ionic|Ceramic|Tourmaline|Titanium',
          wattage: '1200W|1600W|1875W|2000W',
          color: 'Black|White|Rose Gold|Pink|Navy Blue',
        },
        pre: 'tech',
        post: 'color',
        price: 70,
        sigma: 0.6,
        f: 'multiple heat settings|a cool-shot button|auto shut-off|fast heat-up|a swivel cord|a diffuser attachment',
        u: 'frizz-free blowouts|beach waves|sleek straight styles|travel',
      },
    ],
  },
  {
    name: 'Sports',
    brands: 'Stridewell|Peakform|Runova|Trailcraft|Apexa|Kinetiq|Velocita|Summitline',
    subs: [
      {
        name: 'Running Shoes',
        n: 'Running Shoes|Running Sneakers|Trainers|Road Running Shoes|Trail Running Shoes',
        syn: 'running shoes|sneakers|trainers|runners|shoes',
        a: {
          gender: GENDER,
          cushioning: 'Max Cushion|Neutral|Stability|Lightweight Racing',
          size: 'US 6|US 7|US 8|US 9|US 10|US 11|US 12|US 13',
          color: 'Black/White|Volt Green|Grey/Orange|Navy/Red|All Black|White/Blue|Coral|Triple White',
          drop: '4mm Drop|8mm Drop|10mm Drop',
        },
        pre: 'gender',
        post: 'color',
        price: 110,
        sigma: 0.35,
        f: 'a responsive foam midsole|a breathable knit upper|a grippy rubber outsole|a carbon fiber plate|a padded heel collar|reflective details',
        u: 'marathon training|daily jogs|trail runs|treadmill workouts|race day',
        w: 1.3,
      },
      {
        name: 'Yoga',
        n: 'Yoga Mat|Yoga Block|Yoga Strap|Yoga Bolster|Exercise Mat',
        syn: 'yoga mat|exercise mat|workout mat|mat',
        a: {
          thickness: '3mm|4mm|6mm|8mm',
          material: 'TPE|Natural Rubber|Cork|PVC|Jute',
          color: 'Purple|Black|Teal|Sage Green|Blush Pink|Grey|Blue',
        },
        pre: 'thickness material',
        post: 'color',
        price: 35,
        f: 'a non-slip textured surface|alignment lines|a carrying strap|extra cushioning for joints|a sweat-resistant top layer',
        u: 'hot yoga|pilates|home workouts|stretching|meditation',
      },
      {
        name: 'Fitness Equipment',
        n: 'Adjustable Dumbbells|Kettlebell|Resistance Bands|Weight Bench|Pull-Up Bar|Jump Rope|Dumbbell Set',
        syn: 'weights|home gym equipment|gym gear|fitness gear',
        a: {
          weight: '5 lb|10 lb|15 lb|25 lb|35 lb|52.5 lb|90 lb',
          material: 'Cast Iron|Neoprene-Coated|Steel|Rubber-Coated|Latex',
        },
        pre: 'weight material',
        price: 60,
        sigma: 0.85,
        f: 'a quick-change weight dial|knurled, non-slip handles|a compact footprint|a powder-coated finish|a foldable frame',
        u: 'home gyms|strength training|HIIT workouts|garage gyms|apartments',
      },
      {
        name: 'Cycling',
        n: 'Bike Helmet|Bike Light Set|Cycling Jersey|Bike Lock|Bike Pump|Cycling Gloves',
        syn: 'cycling gear|bike accessory|bicycle accessory',
        a: {
          size: 'S|M|L|XL|One Size',
          color: 'Black|White|Hi-Vis Yellow|Red|Blue',
          feature: 'MIPS Protection|USB Rechargeable|Reflective Trim|Hardened Steel',
        },
        post: 'color',
        price: 45,
        sigma: 0.6,
        f: 'MIPS impact protection|USB rechargeable batteries|reflective trim|a hardened steel shackle|a gauge for accurate inflation',
        u: 'commuting|road cycling|mountain biking|night rides',
      },
      {
        name: 'Camping',
        n: 'Tent|Sleeping Bag|Camping Chair|Backpacking Stove|Headlamp|Camping Hammock',
        syn: 'camping gear|outdoor gear|tent|shelter',
        a: {
          capacity: '1-Person|2-Person|4-Person|6-Person',
          season: '3-Season|4-Season|Summer',
          color: 'Forest Green|Orange|Grey|Navy Blue|Olive',
        },
        pre: 'capacity season',
        post: 'color',
        price: 110,
        sigma: 0.7,
        f: 'a waterproof rainfly|quick-pitch poles|a packable, lightweight design|taped seams|a compression sack',
        u: 'backpacking|car camping|festivals|beach days|hiking trips',
      },
    ],
  },
  {
    name: 'Garden & Outdoor',
    brands: 'Greenmere|Terracraft|Fernwood|Sunpatch|Bloomfield|Yardly|Emberline|Hearth & Pine',
    subs: [
      {
        name: 'Planters',
        n: 'Planter|Plant Pot|Flower Pot|Window Box|Hanging Planter|Raised Garden Bed',
        syn: 'planter|pot|plant pot|flower pot|container',
        a: {
          shape: 'Round|Square|Rectangular|Tall',
          material: 'Terracotta|Ceramic|Concrete|Fiberglass|Galvanized Steel|Rattan|Recycled Plastic',
          color: 'White|Black|Terracotta|Sage Green|Charcoal|Blue Glaze|Natural',
          diameter: '6 in|8 in|10 in|12 in|16 in|24 in',
        },
        pre: 'shape material',
        post: 'color',
        price: 35,
        sigma: 0.7,
        f: 'drainage holes with a saucer|a frost-resistant finish|a self-watering reservoir|UV-stable color|a reactive glaze',
        u: 'succulents|indoor plants|patios and balconies|herb gardens|front porches',
      },
      {
        name: 'Garden Tools',
        n: 'Pruning Shears|Garden Hose|Trowel Set|Leaf Rake|Garden Kneeler|Watering Can|Hedge Trimmer',
        syn: 'garden tool|gardening tool|yard tool',
        a: {
          material: 'Stainless Steel|Carbon Steel|Aluminum|Rubber|Ash Wood Handle',
          length: '8 in|25 ft|50 ft|100 ft|54 in',
        },
        pre: 'material',
        price: 30,
        sigma: 0.6,
        f: 'ergonomic, cushioned grips|rust-resistant blades|a kink-free design|a bypass cutting action|a lifetime warranty',
        u: 'pruning roses|vegetable gardens|lawn care|fall clean-up|potting plants',
      },
      {
        name: 'Patio Furniture',
        n: 'Patio Dining Set|Outdoor Lounge Chair|Patio Sofa|Adirondack Chair|Hammock|Outdoor Sectional',
        syn: 'patio furniture|outdoor furniture|garden furniture|deck furniture',
        a: {
          material: 'Teak|Acacia Wood|Aluminum|All-Weather Wicker|Recycled Plastic|Wrought Iron',
          color: 'Natural|Grey|Black|White|Navy Blue|Sand',
          seats: 'Seats 2|Seats 4|Seats 6',
        },
        pre: 'material',
        post: 'color',
        price: 400,
        sigma: 0.7,
        f: 'weather-resistant cushions|a rust-proof frame|UV-resistant fabric|stackable chairs|fade-resistant finishes',
        u: 'patios|decks|balconies|poolside lounging|backyard barbecues',
      },
      {
        name: 'Grills',
        n: 'Gas Grill|Charcoal Grill|Pellet Grill|Portable Grill|Kamado Grill|Smoker',
        syn: 'grill|barbecue|bbq|smoker',
        a: {
          burners: '2-Burner|3-Burner|4-Burner|Single Zone',
          area: '300 sq in|450 sq in|650 sq in|800 sq in',
          finish: 'Stainless Steel|Black|Red',
        },
        pre: 'burners',
        post: 'finish',
        price: 450,
        sigma: 0.6,
        f: 'cast iron grates|a built-in thermometer|a side burner|an ash catcher|push-button ignition|a warming rack',
        u: 'backyard cookouts|tailgating|smoking brisket|weeknight grilling|camping',
      },
    ],
  },
  {
    name: 'Clothing',
    brands: 'Threadline|Northpeak Apparel|Cotton & Crane|Urbanfold|Wildermoor|Seabright|Denimist|Kestrel',
    subs: [
      {
        name: 'T-Shirts',
        n: 'T-Shirt|Crew Neck Tee|V-Neck Tee|Graphic Tee|Pocket Tee|Long Sleeve Tee',
        syn: 'tee|t-shirt|top|shirt',
        a: {
          gender: GENDER,
          material: 'Organic Cotton|Cotton Blend|Merino Wool|Linen|Supima Cotton',
          fit: 'Slim Fit|Relaxed Fit|Regular Fit|Oversized',
          size: 'XS|S|M|L|XL|XXL',
          color: APPAREL_COLORS,
        },
        pre: 'gender material',
        post: 'color',
        price: 25,
        sigma: 0.45,
        f: 'pre-shrunk fabric|a tagless neckline|reinforced seams|a soft, brushed hand feel|a tailored silhouette',
        u: 'everyday wear|layering|the gym|weekend errands|travel',
        w: 1.3,
      },
      {
        name: 'Jackets',
        n: 'Rain Jacket|Puffer Jacket|Denim Jacket|Fleece Jacket|Parka|Windbreaker|Bomber Jacket',
        syn: 'jacket|coat|outerwear',
        a: {
          gender: GENDER,
          material: 'Recycled Nylon|Down|Denim|Polar Fleece|Gore-Tex|Waxed Cotton',
          size: 'XS|S|M|L|XL|XXL',
          color: APPAREL_COLORS,
        },
        pre: 'gender material',
        post: 'color',
        price: 120,
        sigma: 0.55,
        f: 'a waterproof, breathable shell|an adjustable hood|zippered hand pockets|a packable design|a warm quilted lining',
        u: 'rainy commutes|hiking|cold winters|layering in spring|travel',
      },
      {
        name: 'Jeans',
        n: 'Jeans|Skinny Jeans|Straight Leg Jeans|Bootcut Jeans|Wide Leg Jeans|Mom Jeans',
        syn: 'jeans|denim|pants|trousers',
        a: {
          gender: GENDER,
          wash: 'Dark Wash|Light Wash|Black|Medium Wash|Distressed|Raw Denim',
          waist: '26|28|30|32|34|36|38',
          fit: 'Slim|Straight|Relaxed|Skinny|High-Rise',
        },
        pre: 'gender',
        post: 'wash',
        price: 70,
        sigma: 0.45,
        f: 'stretch denim that keeps its shape|a high-rise waist|five-pocket styling|selvedge detailing|organic cotton denim',
        u: 'everyday wear|casual Fridays|weekend outings|date nights',
      },
      {
        name: 'Dresses',
        n: 'Midi Dress|Maxi Dress|Wrap Dress|Shirt Dress|Slip Dress|Sundress',
        syn: 'dress|frock|gown',
        a: {
          pattern: 'Floral|Polka Dot|Solid|Striped|Leopard|Gingham',
          material: 'Linen|Satin|Cotton|Viscose|Chiffon',
          size: 'XS|S|M|L|XL',
          color: APPAREL_COLORS,
        },
        pre: 'pattern material',
        post: 'color',
        price: 65,
        sigma: 0.5,
        f: 'a flattering tie waist|side pockets|a flowy A-line skirt|adjustable straps|a fully lined bodice',
        u: 'summer weddings|vacations|the office|brunch|date nights',
      },
      {
        name: 'Sweaters',
        n: 'Sweater|Cardigan|Crewneck Jumper|Turtleneck|Hoodie|Quarter-Zip Pullover',
        syn: 'sweater|jumper|pullover|knitwear|hoodie',
        a: {
          gender: GENDER,
          material: 'Merino Wool|Cashmere|Cotton|Alpaca Blend|Fleece',
          size: 'XS|S|M|L|XL|XXL',
          color: APPAREL_COLORS,
        },
        pre: 'gender material',
        post: 'color',
        price: 70,
        sigma: 0.55,
        f: 'ribbed cuffs and hem|a relaxed drop shoulder|a soft, non-itchy knit|a kangaroo pocket|a cable-knit texture',
        u: 'chilly evenings|layering|the office|cozy weekends',
      },
    ],
  },
  {
    name: 'Toys & Games',
    brands: 'Brickwise|Playnest|Tumbletot|Wonderloop|Gigglebee|Kiddora|Puzzleworks|Cubby',
    subs: [
      {
        name: 'Building Sets',
        n: 'Building Set|Construction Kit|Building Blocks|Magnetic Tiles|STEM Robot Kit',
        syn: 'building toy|construction toy|blocks|bricks|STEM toy',
        a: {
          theme: 'Space|City|Castle|Dinosaur|Racing|Robot|Pirate Ship|Fire Station',
          pieces: '120-Piece|350-Piece|500-Piece|1000-Piece',
          age: AGES,
        },
        pre: 'theme',
        post: 'pieces',
        price: 40,
        sigma: 0.7,
        f: 'step-by-step instructions|compatible pieces|rounded, child-safe edges|motorized parts|a storage box',
        u: 'creative play|birthday gifts|STEM learning|rainy days|family builds',
      },
      {
        name: 'Board Games',
        n: 'Board Game|Card Game|Strategy Game|Party Game|Jigsaw Puzzle|Cooperative Game',
        syn: 'game|board game|tabletop game|puzzle',
        a: {
          players: '2-4 Players|2-6 Players|1-5 Players|4-10 Players|1 Player',
          age: AGES,
          time: '15 min|30 min|60 min|90 min',
        },
        post: 'players',
        price: 30,
        sigma: 0.5,
        f: 'easy-to-learn rules|high replay value|beautifully illustrated cards|quick setup|a 1000-piece image',
        u: 'family game night|parties|two-player evenings|holiday gatherings|travel',
      },
      {
        name: 'Plush Toys',
        n: 'Plush Toy|Stuffed Animal|Teddy Bear|Soft Toy|Weighted Plush',
        syn: 'plush|stuffed animal|soft toy|cuddly toy|plushie',
        a: {
          animal: 'Bear|Bunny|Dinosaur|Unicorn|Elephant|Fox|Penguin|Sloth|Axolotl|Cat',
          size: '8 in|12 in|16 in|24 in',
          color: 'Brown|Pink|Grey|White|Lavender|Blue',
        },
        pre: 'animal',
        post: 'size',
        price: 20,
        sigma: 0.5,
        f: 'ultra-soft fabric|embroidered eyes|surface-washable material|a huggable shape|hypoallergenic stuffing',
        u: 'bedtime|babies and toddlers|gifts|nursery decor',
      },
    ],
  },
  {
    name: 'Bed & Bath',
    brands: 'Dreamweave|Slumberly|Linenhaus|Cloudnest|Aquasoft|Restwell|Serenity Home|Softhaven',
    subs: [
      {
        name: 'Bedding',
        n: 'Duvet Cover Set|Comforter Set|Sheet Set|Quilt|Duvet Insert|Fitted Sheet',
        syn: 'bedding|bed linen|sheets|comforter|duvet|bedspread',
        a: {
          material: 'Egyptian Cotton|Linen|Percale Cotton|Sateen|Bamboo Lyocell|Microfiber|Silk|Flannel',
          size: BED_SIZES,
          thread_count: '300 TC|400 TC|600 TC|800 TC',
          color: COLORS,
        },
        pre: 'material',
        post: 'color size',
        price: 110,
        sigma: 0.6,
        f: 'a breathable, cooling weave|deep pockets|hidden corner ties|a button closure|an all-season fill|pre-washed softness',
        u: 'hot sleepers|guest rooms|year-round comfort|kids rooms|cozy winters',
        w: 1.3,
      },
      {
        name: 'Towels',
        n: 'Bath Towel Set|Hand Towels|Bath Sheet|Beach Towel|Washcloths',
        syn: 'towel|towels|bath linen',
        a: {
          material: 'Turkish Cotton|Organic Cotton|Bamboo|Waffle Weave Cotton|Microfiber',
          weight: '500 GSM|600 GSM|700 GSM|800 GSM',
          count: '2-Piece|4-Piece|6-Piece|8-Piece',
          color: COLORS,
        },
        pre: 'count material',
        post: 'color',
        price: 40,
        sigma: 0.5,
        f: 'plush, absorbent loops|quick-drying fibres|double-stitched hems|a hanging loop',
        u: 'everyday bathing|the beach|guest bathrooms|the gym|spa days',
      },
      {
        name: 'Pillows',
        n: 'Bed Pillow|Memory Foam Pillow|Down Pillow|Body Pillow|Throw Pillow|Pillow Set',
        syn: 'pillow|cushion|pillows',
        a: {
          fill: 'Memory Foam|Down Alternative|Goose Down|Buckwheat|Shredded Latex',
          firmness: 'Soft|Medium|Firm',
          size: 'Standard|Queen|King|20x20 in',
        },
        pre: 'firmness fill',
        post: 'size',
        price: 50,
        sigma: 0.55,
        f: 'adjustable fill|a cooling gel layer|a removable, washable cover|hypoallergenic materials|contoured neck support',
        u: 'side sleepers|back sleepers|neck pain|sofa styling|pregnancy support',
      },
      {
        name: 'Bath Accessories',
        n: 'Shower Curtain|Bath Mat|Soap Dispenser|Towel Rack|Bath Caddy|Toothbrush Holder',
        syn: 'bathroom accessory|bath decor|bathroom storage',
        a: {
          material: 'Bamboo|Ceramic|Stainless Steel|Cotton|Memory Foam|Marble',
          color: 'White|Black|Grey|Sage Green|Navy Blue|Natural',
        },
        pre: 'material',
        post: 'color',
        price: 30,
        sigma: 0.5,
        f: 'a non-slip base|rust-proof hardware|a quick-dry surface|water-repellent fabric',
        u: 'small bathrooms|guest bathrooms|spa-like bathrooms|rental apartments',
      },
    ],
  },
  {
    name: 'Office',
    brands: 'Deskly|Inkwell & Co|Paperhaus|Workform|Scribeline|Ledgerly|Focusa|Notara',
    subs: [
      {
        name: 'Desks',
        n: 'Standing Desk|Writing Desk|Computer Desk|L-Shaped Desk|Secretary Desk',
        syn: 'desk|workstation|work table|study desk',
        a: {
          width: '40 in|48 in|55 in|60 in|72 in',
          material: 'Bamboo|Walnut|Oak|Laminate|Tempered Glass',
          frame: 'Black Steel Frame|White Frame|Dual-Motor Frame|Hairpin Legs',
        },
        pre: 'width material',
        post: 'frame',
        price: 320,
        sigma: 0.55,
        f: 'electric height adjustment|memory presets|a cable management tray|a scratch-resistant top|a built-in drawer',
        u: 'home offices|small spaces|gaming setups|students|hybrid work',
      },
      {
        name: 'Notebooks',
        n: 'Notebook|Journal|Planner|Sketchbook|Bullet Journal',
        syn: 'notebook|journal|notepad|planner',
        a: {
          ruling: 'Dotted|Lined|Grid|Blank',
          size: 'A5|A4|B5|Pocket',
          cover: 'Hardcover|Softcover|Vegan Leather Cover|Linen Cover',
          pages: '120 Pages|192 Pages|240 Pages',
        },
        pre: 'ruling cover',
        post: 'size',
        price: 15,
        sigma: 0.5,
        f: 'thick, bleed-resistant paper|lay-flat binding|numbered pages|an elastic closure|a ribbon bookmark',
        u: 'journaling|note taking|sketching|daily planning|students',
      },
      {
        name: 'Pens',
        n: 'Gel Pens|Fountain Pen|Ballpoint Pens|Fineliners|Highlighters|Brush Pens',
        syn: 'pens|pen|writing instruments|markers',
        a: {
          count: 'Pack of 5|Pack of 10|Pack of 24|Single',
          tip: '0.38mm|0.5mm|0.7mm|Fine Nib|Medium Nib',
          ink: 'Black Ink|Blue Ink|Assorted Colors',
        },
        pre: 'tip',
        post: 'count',
        price: 12,
        sigma: 0.7,
        f: 'smooth, quick-drying ink|a comfortable rubber grip|smudge-proof writing|a refillable converter',
        u: 'note taking|journaling|calligraphy|office work|coloring',
      },
      {
        name: 'Backpacks',
        n: 'Laptop Backpack|Backpack|Rucksack|Daypack|Messenger Bag|Rolltop Backpack',
        syn: 'backpack|bag|rucksack|knapsack',
        a: {
          capacity: '15L|20L|25L|30L|40L',
          material: 'Recycled Nylon|Canvas|Leather|Ripstop Polyester',
          laptop: 'Fits 13 in Laptop|Fits 15.6 in Laptop|Fits 17 in Laptop',
          color: APPAREL_COLORS,
        },
        pre: 'capacity material',
        post: 'color',
        price: 70,
        sigma: 0.55,
        f: 'a padded laptop sleeve|water-resistant fabric|a luggage pass-through|hidden anti-theft pockets|padded shoulder straps',
        u: 'commuting|college|weekend trips|carry-on travel|hiking',
      },
    ],
  },
  {
    name: 'Pets',
    brands: 'Pawsome|Barkley & Co|Whiskerly|Furrow|Tailwind Pets|Petwell|Snoutly|Purrfect Home',
    subs: [
      {
        name: 'Dog Beds',
        n: 'Dog Bed|Orthopedic Dog Bed|Pet Bed|Calming Dog Bed|Dog Crate Mat',
        syn: 'dog bed|pet bed|dog cushion|dog mattress',
        a: {
          size: 'Small|Medium|Large|X-Large',
          fill: 'Memory Foam|Polyfill|Bolster',
          material: 'Faux Fur|Canvas|Microsuede|Sherpa',
          color: 'Grey|Brown|Beige|Navy Blue|Black',
        },
        pre: 'material',
        post: 'size',
        price: 60,
        sigma: 0.6,
        f: 'a removable, machine-washable cover|orthopedic memory foam|raised bolsters|a waterproof liner|a non-skid bottom',
        u: 'senior dogs|large breeds|anxious pets|crates|puppies',
      },
      {
        name: 'Cat Supplies',
        n: 'Cat Tree|Cat Scratching Post|Cat Litter Box|Cat Toy Set|Cat Carrier|Cat Window Perch',
        syn: 'cat furniture|cat supplies|kitty accessory|cat gear',
        a: {
          material: 'Sisal|Plush|Plastic|Wood|Cardboard',
          color: 'Grey|Beige|White|Black|Brown',
          height: '24 in|36 in|52 in|72 in',
        },
        pre: 'material',
        post: 'color',
        price: 45,
        sigma: 0.7,
        f: 'sisal-wrapped posts|a cozy condo|odor control|a sturdy, wide base|dangling toys',
        u: 'indoor cats|kittens|multi-cat homes|small apartments',
      },
      {
        name: 'Pet Feeding',
        n: 'Pet Bowl|Elevated Dog Bowl|Automatic Pet Feeder|Pet Water Fountain|Slow Feeder Bowl',
        syn: 'pet bowl|feeder|dish|water bowl',
        a: {
          material: 'Stainless Steel|Ceramic|BPA-Free Plastic|Bamboo',
          capacity: '2 Cups|4 Cups|1.5 L|3 L|6 L',
        },
        pre: 'material',
        post: 'capacity',
        price: 30,
        sigma: 0.6,
        f: 'a non-slip base|programmable meal times|a triple filtration system|dishwasher-safe bowls|a slow-feed maze',
        u: 'fast eaters|busy pet parents|cats and dogs|hydration',
      },
      {
        name: 'Dog Toys',
        n: 'Chew Toy|Rope Toy|Squeaky Toy|Fetch Ball|Puzzle Feeder|Tug Toy',
        syn: 'dog toy|chew toy|pet toy',
        a: {
          material: 'Natural Rubber|Cotton Rope|Plush|Nylon',
          size: 'Small|Medium|Large',
        },
        pre: 'material',
        post: 'size',
        price: 15,
        sigma: 0.5,
        f: 'tough, durable construction|a built-in squeaker|treat-dispensing pockets|floating design',
        u: 'aggressive chewers|puppies|fetch|mental stimulation',
      },
    ],
  },
  {
    name: 'Tools',
    brands: 'Forgeline|Torqueon|Boltcraft|Ironclad|Drillmark|Handyra|Steelwright|Rivetta',
    subs: [
      {
        name: 'Power Tools',
        n: 'Cordless Drill|Impact Driver|Circular Saw|Orbital Sander|Jigsaw|Drill Combo Kit',
        syn: 'power tool|drill|saw|cordless tool',
        a: {
          voltage: '12V|18V|20V MAX|40V',
          battery: '2.0Ah Battery|4.0Ah Battery|Tool Only',
          kit: 'With Case|Kit|Bare Tool',
        },
        pre: 'voltage',
        post: 'battery',
        price: 130,
        sigma: 0.6,
        f: 'a brushless motor|an LED work light|a 2-speed gearbox|a keyless chuck|a fast charger',
        u: 'DIY projects|furniture assembly|home renovation|woodworking|contractors',
      },
      {
        name: 'Hand Tools',
        n: 'Screwdriver Set|Socket Set|Claw Hammer|Wrench Set|Tool Kit|Pliers Set|Tape Measure',
        syn: 'hand tools|tools|toolkit',
        a: {
          count: '6-Piece|20-Piece|40-Piece|108-Piece',
          material: 'Chrome Vanadium Steel|Carbon Steel|Fiberglass Handle|Drop-Forged Steel',
        },
        pre: 'count material',
        price: 40,
        sigma: 0.6,
        f: 'magnetic tips|a blow-molded carrying case|cushioned grips|a lifetime guarantee|a ratcheting mechanism',
        u: 'household repairs|car maintenance|first apartments|DIY projects',
      },
    ],
  },
];

const LINES =
  'Alto|Vega|Luna|Orbit|Nova|Sierra|Tempo|Fjord|Aria|Atlas|Echo|Haven|Kite|Lumen|Mesa|Nimbus|Oslo|Pulse|Quill|Ridge|Sol|Terra|Umbra|Vista|Willow|Zephyr|Harbor|Cove|Drift|Ember|Flint|Grove|Juniper|Koa|Larkin|Marlow|Noor|Opal|Pico|Rowan|Sable|Tidal|Vale|Wren|Yara|Zuri|Basil|Cedar|Dune|Fern'.split(
    '|',
  );
const ADJ = 'versatile|sleek|sturdy|thoughtfully designed|premium|compact|classic|modern|best-selling|everyday|refined|durable'.split('|');

/** How attributes read in descriptions ({v} is the value, lower-cased where it is a plain word). */
const ATTR_PHRASE: Record<string, string> = {
  color: 'in {v}',
  material: 'made from {v}',
  size: 'in size {V}',
  tiers: 'with a {v} layout',
  wash: 'in a {v}',
  subject: 'with a {v} motif',
  style: 'in a {v} style',
  gender: 'in {v} sizing',
  fill: 'filled with {v}',
  firmness: 'with {v} support',
  pieces: 'in a {v} set',
  count: 'in a {v} set',
  theme: 'with a {v} theme',
  animal: 'shaped like a {v}',
  tip: 'with a {V} tip',
  ruling: 'with {v} pages',
  season: 'rated {v}',
  voltage: 'on the {V} platform',
  waist: 'with a {V} in waist',
  resolution: 'with {V} resolution',
  refresh: 'with a {V} refresh rate',
  screen: 'with a {V} screen',
  area: 'with {V} of cooking space',
  wear: 'with a {v} formula',
  capacity: 'with a {v} capacity',
  wattage: 'with {v} of power',
  age: 'recommended for {v}',
  players: 'for {v}',
  time: 'that plays in about {v}',
  skin_type: 'made {v}',
  hair_type: 'made {v}',
  fit: 'with a {v}',
  length: 'measuring {v}',
  weight: 'weighing {v}',
  seats: 'that {v}',
  shape: 'with a {v} shape',
  pattern: 'with a {v} pattern',
  scent: 'with a {v} scent',
  notes: 'with {v} notes',
  finish: 'with a {v} finish',
  thread_count: 'woven at {v}',
  width: '{v} wide',
  height: '{v} tall',
  diameter: '{v} across',
};

// ---------------------------------------------------------------------------------------------
// Generation

interface Sub {
  top: string;
  name: string;
  category: string;
  nouns: string[];
  syn: string[];
  attrs: Array<[string, string[]]>;
  pre: string[];
  post: string[];
  price: number;
  sigma: number;
  features: string[];
  uses: string[];
  weight: number;
  brands: string[];
}

const L = (s: string) => s.split('|');

function compileShop(): Sub[] {
  const subs: Sub[] = [];
  for (const top of SHOP) {
    for (const s of top.subs) {
      subs.push({
        top: top.name,
        name: s.name,
        category: `${top.name} > ${s.name}`,
        nouns: L(s.n),
        syn: L(s.syn ?? s.n.toLowerCase()),
        attrs: Object.entries(s.a).map(([k, v]) => [k, L(v)]),
        pre: s.pre ? s.pre.split(' ') : [],
        post: s.post ? s.post.split(' ') : [],
        price: s.price,
        sigma: s.sigma ?? 0.45,
        features: L(s.f),
        uses: L(s.u),
        weight: s.w ?? 1,
        brands: L(top.brands),
      });
    }
  }
  return subs;
}

/** Lower-case plain capitalised words ("Emerald Green" → "emerald green"), keep "LED", "4K UHD", "16GB". */
function lc(v: string): string {
  return v.replace(/\b[A-Z][a-z']+\b/g, (w) => w.toLowerCase());
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function article(w: string): string {
  return /^[aeiou]/i.test(w) && !/^(one|uni|eu|us)/i.test(w) ? 'an' : 'a';
}

function attrPhrase(key: string, value: string): string {
  const phrase = (ATTR_PHRASE[key] ?? 'with {v}').replace('{v}', lc(value)).replace('{V}', value);
  return phrase.replace(/\ba (\S+)/g, (_, w: string) => `${article(w)} ${w}`);
}

function formatPrice(p: number): number {
  if (p < 10) return Math.max(0.99, Math.round(p * 2) / 2 - 0.01);
  if (p < 200) return Math.round(p) - 0.01;
  if (p < 1000) return Math.round(p / 5) * 5 - 0.01;
  return Math.round(p / 10) * 10 - 0.01;
}

function weightedIndex(rng: Rng, cum: number[]): number {
  return indexAtWeight(cum, rng.float());
}

/** The index a uniform draw `u` in [0, 1) falls on in cumulative weights `cum` (binary search). */
export function indexAtWeight(cum: number[], u: number): number {
  const x = u * cum[cum.length - 1]!;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Running sums of weights: what indexAtWeight draws from. */
export function cumulative(ws: number[]): number[] {
  const out: number[] = [];
  let s = 0;
  for (const w of ws) out.push((s += w));
  return out;
}

function idWidth(n: number, min: number): number {
  return Math.max(min, String(n).length);
}

export interface GenerateOptions {
  products: number;
  users: number;
  seed: number;
}

export interface GeneratedCatalog {
  products: CatalogProduct[];
  users: UserHistory[];
}

/** Generates a synthetic catalog and user histories; the same options always give the same output. */
export function generateCatalog(opts: GenerateOptions): GeneratedCatalog {
  const { products: nProducts, users: nUsers, seed } = opts;
  if (!Number.isInteger(nProducts) || nProducts < 1) throw new Error('products must be a positive integer');
  if (!Number.isInteger(nUsers) || nUsers < 0) throw new Error('users must be a non-negative integer');
  const rng = new Rng(seed);
  const subs = compileShop();
  const subCum = cumulative(subs.map((s) => s.weight));

  // Brands: a price tier each (0.7x budget … 1.6x premium) and a popularity weight within the category.
  const brandTier = new Map<string, number>();
  const brandPop = new Map<string, number>();
  for (const s of subs) {
    for (const b of s.brands) {
      if (!brandTier.has(b)) {
        brandTier.set(b, Math.exp(rng.normal() * 0.25));
        brandPop.set(b, Math.exp(rng.normal() * 0.8));
      }
    }
  }
  const subBrandCum = subs.map((s) => cumulative(s.brands.map((b) => brandPop.get(b)!)));

  const pw = idWidth(nProducts, 6);
  const products: CatalogProduct[] = new Array(nProducts);
  const productSub = new Int32Array(nProducts);
  const popularity = new Float64Array(nProducts);
  const priceRatio = new Float64Array(nProducts); // price / sub median, for user price tiers

  for (let i = 0; i < nProducts; i++) {
    const si = weightedIndex(rng, subCum);
    const s = subs[si]!;
    const brand = s.brands[weightedIndex(rng, subBrandCum[si]!)]!;
    const attributes: Record<string, string> = {};
    for (const [k, vs] of s.attrs) {
      // Title attributes always; others most of the time.
      if (s.pre.includes(k) || s.post.includes(k) || rng.chance(0.75)) attributes[k] = rng.pick(vs);
    }
    const noun = rng.pick(s.nouns);
    const line = rng.chance(0.65) ? rng.pick(LINES) : '';
    const pre = s.pre.map((k) => attributes[k]!);
    const post = s.post.map((k) => attributes[k]!);
    const title = `${brand}${line ? ` ${line}` : ''} ${[...pre, noun].join(' ')}${post.length ? `, ${post.join(', ')}` : ''}`;

    const ratio = Math.exp(rng.normal() * s.sigma) * brandTier.get(brand)!;
    const price = formatPrice(s.price * ratio);
    priceRatio[i] = ratio;

    products[i] = {
      id: `p${String(i + 1).padStart(pw, '0')}`,
      title,
      description: describe(rng, s, brand, line, noun, attributes),
      category: s.category,
      brand,
      price,
      attributes,
    };
    productSub[i] = si;
    popularity[i] = Math.exp(rng.normal() * 1.1) * brandPop.get(brand)!;
  }

  // Per-subcategory popularity-weighted pools, and per (sub, brand).
  const bySub: number[][] = subs.map(() => []);
  const bySubBrand = new Map<string, number[]>();
  for (let i = 0; i < nProducts; i++) {
    bySub[productSub[i]!]!.push(i);
    const key = `${productSub[i]}|${products[i]!.brand}`;
    let arr = bySubBrand.get(key);
    if (!arr) bySubBrand.set(key, (arr = []));
    arr.push(i);
  }
  const poolCum = new Map<number[], number[]>();
  const pickFrom = (pool: number[]): number => {
    let cum = poolCum.get(pool);
    if (!cum) poolCum.set(pool, (cum = cumulative(pool.map((i) => popularity[i]!))));
    return pool[weightedIndex(rng, cum)]!;
  };
  const nonEmptySubs = subs.map((_, i) => i).filter((i) => bySub[i]!.length > 0);
  const subIdxByTop = new Map<string, number[]>();
  for (const i of nonEmptySubs) {
    const t = subs[i]!.top;
    if (!subIdxByTop.has(t)) subIdxByTop.set(t, []);
    subIdxByTop.get(t)!.push(i);
  }
  const tops = [...subIdxByTop.keys()];
  const globalCum = cumulative(nonEmptySubs.map((i) => subs[i]!.weight * bySub[i]!.length));

  const uw = idWidth(nUsers, 4);
  const users: UserHistory[] = [];
  const DAY = 86_400_000;
  const START = Date.UTC(2023, 0, 1);
  for (let u = 0; u < nUsers; u++) {
    const prefTops = rng.sample(tops, rng.range(1, Math.min(3, tops.length)));
    const candSubs = prefTops.flatMap((t) => subIdxByTop.get(t)!);
    const prefSubs = rng.sample(candSubs, rng.range(Math.min(2, candSubs.length), Math.min(5, candSubs.length)));
    const prefSubCum = cumulative(prefSubs.map(() => 0.3 + rng.float()));
    const candBrands = [...new Set(prefSubs.flatMap((si) => subs[si]!.brands))];
    const prefBrands = new Set(rng.sample(candBrands, rng.range(1, Math.min(3, candBrands.length))));
    const tier = rng.pick([-1, 0, 0, 1]); // budget, mid, mid, premium
    const count = 5 + Math.floor(35 * rng.float() ** 1.6);
    const seen = new Set<number>();
    const items: UserInteraction[] = [];
    let ts = START + Math.floor(rng.float() * 540 * DAY);
    let lastSub = -1;
    for (let k = 0; k < count; k++) {
      let chosen = -1;
      let inPref = false;
      for (let attempt = 0; attempt < 6 && chosen < 0; attempt++) {
        let si: number;
        if (lastSub >= 0 && rng.chance(0.35))
          si = lastSub; // keep browsing the same shelf
        else if (rng.chance(0.8)) si = prefSubs[weightedIndex(rng, prefSubCum)]!;
        else si = nonEmptySubs[weightedIndex(rng, globalCum)]!;
        inPref = prefSubs.includes(si);
        let pool = bySub[si]!;
        if (rng.chance(0.5)) {
          const brands = [...prefBrands].filter((b) => bySubBrand.has(`${si}|${b}`));
          if (brands.length) pool = bySubBrand.get(`${si}|${rng.pick(brands)}`)!;
        }
        const cand = pickFrom(pool);
        if (seen.has(cand)) continue;
        const r = Math.log(priceRatio[cand]!);
        if (tier !== 0 && attempt < 4 && Math.sign(r) !== tier && rng.chance(0.6)) continue;
        chosen = cand;
        lastSub = si;
      }
      if (chosen < 0) continue;
      seen.add(chosen);
      const p = products[chosen]!;
      let base = inPref ? 4 : 3.2;
      if (prefBrands.has(p.brand)) base += 0.6;
      if (tier !== 0 && Math.sign(Math.log(priceRatio[chosen]!)) === tier) base += 0.3;
      const rating = Math.min(5, Math.max(1, Math.round(base + rng.normal() * 0.9)));
      // Same session (minutes) or a later visit (days).
      ts += rng.chance(0.4) ? Math.floor(rng.exp(6 * 60_000)) + 30_000 : Math.floor(rng.exp(4 * DAY)) + 3_600_000;
      items.push({ id: p.id, rating, ts });
    }
    users.push({ userId: `u${String(u + 1).padStart(uw, '0')}`, items });
  }
  return { products, users };
}

/** Uncountable description nouns: no article ("Looking for cookware for …"). */
const MASS = new Set(
  'hair care|makeup|make-up|cosmetics|skincare|fragrance|lighting|denim|outerwear|knitwear|cycling gear|camping gear|outdoor gear|cat furniture|cat supplies|home fragrance|bath decor|bathroom storage|bath linen|food storage|tupperware|dinnerware|tableware|bedding|bed linen|fitness gear|home gym equipment|gym gear|cookware|cutlery|wall art|wall decor|artwork|patio furniture|outdoor furniture|garden furniture|deck furniture|shelving|storage shelf'.split(
    '|',
  ),
);

/** "running shoes", "curtains", "jeans" are plural; "glass", "dress", "bbq" are not. */
function isPlural(noun: string): boolean {
  return /[^su]s$/i.test(noun.trim());
}

function describe(rng: Rng, s: Sub, brand: string, line: string, noun: string, attributes: Record<string, string>): string {
  const syn = rng.pick(s.syn);
  const nounLc = rng.chance(0.5) ? lc(noun) : syn;
  // Features are used at most once per description (cycling only if a sub has very few).
  const feats = rng.sample(s.features, s.features.length);
  let fi = 0;
  const f = () => feats[fi++ % feats.length]!;
  const uses = rng.sample(s.uses, s.uses.length);
  let ui = 0;
  const u = () => uses[ui++ % uses.length]!;
  const keys = Object.keys(attributes);
  const [k1, k2] = rng.sample(keys, 2);
  const a1 = k1 ? ` ${attrPhrase(k1, attributes[k1]!)}` : '';
  const a2 = k2 ? `, ${attrPhrase(k2, attributes[k2]!)}` : '';
  const adj = rng.pick(ADJ);
  const name = line ? `${brand} ${line}` : brand;
  // Verb/determiner agreement for the noun a sentence is about.
  const pl = isPlural(nounLc);
  const plSyn = isPlural(syn);
  const v = (plural: boolean, one: string, many: string) => (plural ? many : one);
  const aAdj = (n: string) => (isPlural(n) || MASS.has(n) ? `${adj} ${n}` : `${article(adj)} ${adj} ${n}`);

  const intros = [
    () => `From ${brand}, ${v(pl, 'this', 'these')} ${adj} ${nounLc}${a1} ${v(pl, 'features', 'feature')} ${f()}.`,
    () => `The ${name} ${nounLc} ${v(pl, 'combines', 'combine')} ${f()} with ${f()}.`,
    () => `Meet the ${name}: ${aAdj(syn)}${a1}, built around ${f()}.`,
    () => `${capitalise(aAdj(syn))}${a1}${a2}, designed by ${brand}.`,
  ];
  const color = attributes.color;
  const more = [
    () => `Ideal for ${u()}.`,
    () => `Perfect for ${u()} or ${u()}.`,
    () => `${v(pl, 'It also offers', 'They also offer')} ${f()}, so ${v(pl, 'it works', 'they work')} well for ${u()}.`,
    () => `Customers love ${v(plSyn, 'this', 'these')} ${syn} for ${u()}.`,
    () => (color ? `Shown in ${lc(color)}; more colors available.` : `A great pick for ${u()}.`),
    () => `Backed by a ${rng.range(1, 5)}-year ${brand} warranty.`,
    () => {
      const alt = rng.pick(s.syn);
      return `Looking for ${isPlural(alt) || MASS.has(alt) ? '' : `${article(alt)} `}${alt} for ${u()}? This one brings ${f()}.`;
    },
    () => `Specs: ${keys.map((k) => `${k.replace(/_/g, ' ')} ${lc(attributes[k]!)}`).join('; ')}.`,
  ];
  const sentences = [rng.pick(intros)()];
  for (const i of rng.sample(
    more.map((_, j) => j),
    rng.range(1, 3),
  ))
    sentences.push(more[i]!());
  return sentences.join(' ');
}

// ---------------------------------------------------------------------------------------------
// Judged queries: the generator knows each product's leaf category and attributes, so it can
// grade products for a query like "velvet couch" without a person: 2 = the query's leaf category
// with the named attribute value, 1 = the leaf category with another value, 0 = another category.

export interface JudgedQueryOptions {
  seed: number;
  /** How many queries (fewer when the catalog has fewer distinct category/attribute pairs). */
  queries?: number;
  /** Candidates per grade and query: exact matches, same-category others, other-category distractors (half from the same top category). */
  perQuery?: { exact: number; partial: number; irrelevant: number };
}

export const JUDGED_GRADING = {
  '2': 'the leaf category of the query and the attribute value it names',
  '1': 'the leaf category of the query, another value of that attribute',
  '0': 'another leaf category (half of them from the same top category)',
};

/**
 * Graded queries over `products` of a synthetic catalog (products of categories the generator
 * does not know are never picked): the same products and seed always give the same queries.
 * Each query's candidates are shuffled, so their order says nothing about their grades.
 */
export function generateJudgedQueries(products: CatalogProduct[], opts: JudgedQueryOptions): JudgedQuery[] {
  const rng = new Rng(opts.seed ^ 0x9e3779b9);
  const want = opts.queries ?? 100;
  const per = opts.perQuery ?? { exact: 5, partial: 5, irrelevant: 10 };
  const subs = new Map(compileShop().map((s) => [s.category, s]));
  const byCategory = new Map<string, number[]>();
  products.forEach((p, i) => {
    if (!subs.has(p.category)) return;
    let rows = byCategory.get(p.category);
    if (!rows) byCategory.set(p.category, (rows = []));
    rows.push(i);
  });
  const categories = [...byCategory.keys()].sort().filter((c) => byCategory.get(c)!.length >= 4);
  const out: JudgedQuery[] = [];
  const seen = new Set<string>();
  for (let attempt = 0; out.length < want && attempt < want * 20 && categories.length > 1; attempt++) {
    const category = rng.pick(categories);
    const s = subs.get(category)!;
    const rows = byCategory.get(category)!;
    // A title attribute: every product of the category has one, and the text shows it.
    const keys = [...s.pre, ...s.post];
    if (!keys.length) continue;
    const key = rng.pick(keys);
    const value = products[rng.pick(rows)]!.attributes[key];
    if (!value) continue;
    const query = `${lc(value)} ${rng.pick(s.syn)}`;
    if (seen.has(query)) continue;
    const exact = rows.filter((i) => products[i]!.attributes[key] === value);
    const partial = rows.filter((i) => products[i]!.attributes[key] !== value);
    if (exact.length === 0 || partial.length === 0) continue;
    seen.add(query);
    const sameTop = categories.filter((c) => c !== category && subs.get(c)!.top === s.top).flatMap((c) => byCategory.get(c)!);
    const otherTop = categories.filter((c) => subs.get(c)!.top !== s.top).flatMap((c) => byCategory.get(c)!);
    const nNear = Math.min(sameTop.length, Math.ceil(per.irrelevant / 2));
    const near = rng.sample(sameTop, nNear);
    const far = rng.sample(otherTop, per.irrelevant - near.length);
    const grades: Record<string, number> = {};
    for (const i of rng.sample(exact, per.exact)) grades[products[i]!.id] = 2;
    for (const i of rng.sample(partial, per.partial)) grades[products[i]!.id] = 1;
    for (const i of [...near, ...far]) grades[products[i]!.id] = 0;
    const candidates = Object.keys(grades);
    out.push({
      id: `q${String(out.length + 1).padStart(4, '0')}`,
      query,
      candidates: rng.sample(candidates, candidates.length),
      grades,
      about: { category, attribute: key, value },
    });
  }
  return out;
}

/** The judged-queries.json document for a synthetic catalog. */
export function judgedQuerySet(products: CatalogProduct[], opts: JudgedQueryOptions & { source: string }): JudgedQuerySet {
  return { format: JUDGED_QUERIES_FORMAT, source: opts.source, grading: JUDGED_GRADING, queries: generateJudgedQueries(products, opts) };
}
