package opencrvssim

// Read-only tables for generated records. Farajaland is OpenCRVS's fictional
// reference country; names mix the Zambian-style names of its sample data
// with common English ones, as its forms see them.

var femaleGiven = []string{
	"Abigail", "Agnes", "Alice", "Amina", "Angela", "Ann", "Beatrice", "Bertha", "Brenda", "Bupe",
	"Catherine", "Chanda", "Charity", "Chilufya", "Chipo", "Christine", "Clara", "Comfort", "Dorcas", "Doreen",
	"Edith", "Elizabeth", "Esther", "Eunice", "Faith", "Felistus", "Florence", "Grace", "Hannah", "Harriet",
	"Helen", "Hope", "Ireen", "Irene", "Jane", "Janet", "Jennifer", "Joyce", "Judith", "Juliet",
	"Kabwe", "Kasuba", "Lillian", "Linda", "Lombe", "Loveness", "Lucy", "Lydia", "Mable", "Maggie",
	"Mainza", "Margaret", "Martha", "Mary", "Memory", "Mercy", "Miriam", "Monica", "Mutale", "Mwaka",
	"Mwenya", "Naomi", "Natasha", "Nchimunya", "Nkandu", "Nomsa", "Norah", "Patience", "Peggy", "Precious",
	"Priscilla", "Prudence", "Rachel", "Rebecca", "Regina", "Rhoda", "Ruth", "Sarah", "Sharon", "Stella",
	"Susan", "Tamara", "Temwani", "Thandiwe", "Theresa", "Towela", "Tumelo", "Unity", "Violet", "Wezi",
	"Winnie", "Yande", "Yvonne", "Zainab", "Zandile", "Zeliya", "Zondiwe", "Chisomo", "Kondwani", "Natasa",
	"Chabala", "Mwila", "Musonda", "Namukolo", "Inonge", "Mubanga", "Lushomo", "Taonga", "Mapalo", "Chileshe",
}

var maleGiven = []string{
	"Aaron", "Abel", "Alfred", "Allan", "Amos", "Andrew", "Anthony", "Benson", "Bernard", "Boniface",
	"Bwalya", "Caleb", "Charles", "Chibwe", "Chikondi", "Chisanga", "Christopher", "Clement", "Collins", "Daniel",
	"David", "Dennis", "Edward", "Elias", "Emmanuel", "Enock", "Felix", "Francis", "Fred", "Gabriel",
	"George", "Gerald", "Gift", "Godfrey", "Harrison", "Henry", "Isaac", "Jacob", "James", "Japhet",
	"Jason", "John", "Joseph", "Joshua", "Kabanda", "Kalaba", "Kalumba", "Kelvin", "Kennedy", "Kondwani",
	"Lazarus", "Lubinda", "Luka", "Lungu", "Mabvuto", "Mark", "Martin", "Mathews", "Michael", "Moses",
	"Mulenga", "Mumba", "Musonda", "Mutinta", "Mwansa", "Nathan", "Nelson", "Noah", "Obed", "Oliver",
	"Patrick", "Paul", "Peter", "Philip", "Richard", "Robert", "Samuel", "Simon", "Stephen", "Steven",
	"Thomas", "Timothy", "Victor", "Vincent", "Walter", "William", "Wisdom", "Yotam", "Zacharia", "Zikomo",
	"Chanda", "Chilufya", "Kasonde", "Mapalo", "Mukuka", "Mwape", "Nkonde", "Sililo", "Tembo", "Zulu",
	"Bupe", "Chola", "Chomba", "Kafula", "Kalinda", "Lweendo", "Mwaba", "Mwiinga", "Nshimbi", "Sipho",
}

var familyNames = []string{
	"Banda", "Bwalya", "Chabala", "Chanda", "Chibwe", "Chilufya", "Chileshe", "Chisanga", "Chola", "Chomba",
	"Daka", "Hamoonga", "Hichilema", "Hamusonde", "Jere", "Kabwe", "Kalaba", "Kalinda", "Kalunga", "Kalumba",
	"Kamanga", "Kapembwa", "Kasonde", "Katongo", "Kaunda", "Kayombo", "Lubinda", "Lungu", "Lwando", "Mbewe",
	"Miti", "Mubanga", "Mukuka", "Mulenga", "Mulonda", "Mumba", "Musonda", "Musukwa", "Mutale", "Mwale",
	"Mwanza", "Mwansa", "Mwape", "Mweene", "Mwila", "Nawa", "Ngoma", "Nkhata", "Nkonde", "Nyirenda",
	"Phiri", "Sakala", "Sata", "Siame", "Sikazwe", "Simbeye", "Simwanza", "Sinkala", "Tembo", "Tonga",
	"Zimba", "Zulu", "Mbao", "Chirwa", "Ngulube", "Nyambe", "Kasoma", "Sichone", "Simukonda", "Moyo",
	"Ndlovu", "Mumbi", "Chisenga", "Mwenya", "Chikwanda", "Chipimo", "Hamweemba", "Kapasa", "Katebe", "Lukonde",
	"Malama", "Mambwe", "Mapulanga", "Mukupa", "Mulwanda", "Munkombwe", "Muyunda", "Namwinga", "Nalishebo", "Sampa",
	"Sikaonga", "Simfukwe", "Siwale", "Tambatamba", "Yumba", "Zyambo", "Chibesa", "Kabamba", "Kafwimbi", "Lupiya",
	"Doe", "Smith", "Wick", "Sami", "Wan", "One", "Brown", "Johnson", "Williams", "Taylor",
	"Anderson", "Thomson", "Clarke", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards",
	"Green", "Hall", "Wood", "Harris", "Lewis", "Martin", "Jackson", "Clark", "Turner", "Hill",
	"Scott", "Cooper", "Morris", "Ward", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan",
	"Patel", "Young", "Allen", "Mitchell", "James", "Bell", "Cook", "Richardson", "Bailey", "Collins",
	"Chama", "Chimuka", "Chinyama", "Habeenzu", "Hamaundu", "Kabaso", "Kachingwe", "Kalenga", "Kamwendo", "Kangwa",
	"Kapambwe", "Kasanda", "Kasongo", "Katanga", "Kunda", "Lishomwa", "Litia", "Luhila", "Maambo", "Machona",
	"Makumba", "Malambo", "Mawere", "Mbulo", "Milimo", "Mooya", "Mudenda", "Mufalo", "Mukelabai", "Mulilo",
	"Munalula", "Mungoni", "Musaka", "Mutambo", "Mwamba", "Mweemba", "Nakamba", "Namakau", "Ngandu", "Njovu",
}

// syllables build traditional middle names ("Chilumba", "Mwanasale"). Each
// is a consonant onset with one vowel, so a concatenation splits one way
// only and every syllable sequence is a distinct name.
var syllables = []string{
	"ba", "be", "bi", "bo", "bu", "cha", "che", "chi", "cho", "chu",
	"ka", "ke", "ki", "ko", "ku", "la", "le", "li", "lo", "lu",
	"ma", "me", "mi", "mo", "mu", "mba", "mbo", "mwa", "mwe", "na",
	"ne", "ni", "no", "nu", "nda", "nde", "ndi", "nga", "ngo", "nya",
	"nye", "pa", "pe", "pi", "po", "sa", "se", "si", "so", "sha",
	"shi", "ta", "te", "ti", "to", "tu", "wa", "we", "ya", "zi",
}

// geography is Farajaland's administrative structure: state -> districts.
var geography = []struct {
	state     string
	districts []string
}{
	{"Central", []string{"Ibombo", "Isamba", "Itambo", "Ezhi"}},
	{"Chuminga", []string{"Ilanga", "Irundu", "Zobwe"}},
	{"Pualula", []string{"Afue", "Embe", "Esewa", "Funabuli", "Pili", "Ama", "Nsali"}},
	{"Sulaka", []string{"Soka", "Chibiya", "Ienge"}},
}

var facilityKinds = []string{"Health Post", "Rural Health Centre", "Urban Health Centre", "District Hospital"}

var streets = []string{
	"Independence", "Great East", "Cairo", "Church", "Freedom", "Kabelenga", "Lumumba", "Mosi-o-Tunya",
	"Nationalist", "Kafue", "Chilimbulu", "Addis Ababa", "Burma", "Chindo", "Nkwazi", "Sikonge",
	"Makeni", "Mumbwa", "Luanshya", "Kasama", "Mongu", "Solwezi", "Chipata", "Mansa",
}

var streetKinds = []string{"Road", "Street", "Avenue", "Drive", "Close"}

var areas = []string{
	"Kabulonga", "Woodlands", "Chelston", "Kalingalinga", "Matero", "Chilenje", "Kamwala", "Olympia",
	"Rhodes Park", "Emmasdale", "Chawama", "Mtendere", "Libala", "Avondale", "Northmead", "Roma",
}

// registrars work in the CRVS offices; one signs each record.
var registrars = []struct{ given, family, username string }{
	{"Kennedy", "Mweene", "k.mweene"},
	{"Joseph", "Musonda", "j.musonda"},
	{"Mitchell", "Owen", "m.owen"},
	{"Emmanuel", "Mayuka", "e.mayuka"},
}
