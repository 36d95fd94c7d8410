//! The built-in word lists, hand-written per language.
//!
//! Lists are comma-separated items. An item is a lowercase word or phrase, optionally followed
//! by `*` (prefix match: `irriter*` covers irriterende, irriteret) and `:weight` (default 2 for
//! sentiment, 1 for cues). Emoji and emoticons live in [`UNIVERSAL`] and count in every language.

use crate::lang::Lang;

pub(crate) struct LangData {
    pub lang: Lang,
    /// Frequent function words, used to vote for the language.
    pub stopwords: &'static str,
    pub positive: &'static str,
    pub negative: &'static str,
    pub negators: &'static str,
    /// Words that scale the next sentiment word (weight is the factor, e.g. 1.3 or 0.6).
    pub intensifiers: &'static str,
    /// "but": what follows counts more than what came before.
    pub contrast: &'static str,
    pub feature_request: &'static str,
    /// Question phrases anywhere in the post.
    pub question: &'static str,
    /// Words that make a question when they open the post.
    pub question_start: &'static str,
    /// Problem words: what complaints are made of (they also count as mildly negative).
    pub problem: &'static str,
    /// Thanks and compliments (they also count as positive).
    pub thanks: &'static str,
    pub urgent: &'static str,
}

impl LangData {
    /// Every list, in declaration order.
    pub fn lists(&self) -> [&'static str; 12] {
        [
            self.stopwords,
            self.positive,
            self.negative,
            self.negators,
            self.intensifiers,
            self.contrast,
            self.feature_request,
            self.question,
            self.question_start,
            self.problem,
            self.thanks,
            self.urgent,
        ]
    }
}

pub(crate) struct UniversalData {
    pub positive: &'static str,
    pub negative: &'static str,
}

pub(crate) const UNIVERSAL: UniversalData = UniversalData {
    positive: "😀,😃,😄,😁,😆,😊,😍:3,🥰:3,😘,😋,😎,🤩:3,🙂:1,☺,❤,♥,💕,💖,💗,💙,💚,💛,💜,🧡,💯,👍,👏,🙌,🎉,🥳,✨:1,🔥:1,\
😂:1,🤣:1,👌,💪:1.5,😻,✅:1,🙏:1,😉:1,:),:-),:d,:-d,;),;-),(:,<3,:p:1,:-p:1,xd:1,=),:],^^:1,^_^,\
haha*:1,hehe:1,lol:0.5,lmao:1,yay,woohoo,super,cool,top:1.5,wow:1,omg:0.5",
    negative: "😠:3,😡:3,🤬:3,😤,😞,😔,😟,😕:1.5,🙁,☹,😣,😖,😫,😩,😢,😭,😰,😨,😱,💔,👎,🤮:3,🤢,😒,🙄,😑:1,\
😬:1,🤦,💩,:(,:-(,:'(,):,>:(,:/:1.5,:-/:1.5,-_-,:@,wtf,fail:2,epic fail:3,smh:1.5,ffs:2.5,fml:2.5,ugh,argh",
};

/// Frequent words of Latin-script languages earshot does not read (romanised Hindi,
/// Indonesian/Malay, Turkish, Tagalog): when they win the vote the post is `und`, not a
/// confident wrong guess.
pub(crate) const FOREIGN_STOPWORDS: &str = "hai,hain,nahi,nhi,nahin,mein,bhi,kya,aur,tha,thi,yeh,kuch,sab,bhai,yaar,\
kiya,raha,rahe,gaya,koi,kaise,kyu,kyun,accha,acha,achha,bahut,bohot,sirf,abhi,tum,aap,hum,mujhe,tujhe,apne,apna,\
hota,hoga,karo,karna,wala,wali,jaise,lekin,agar,phir,yang,dan,ini,itu,tidak,aku,kamu,ada,dengan,untuk,saya,sudah,\
juga,bisa,akan,dari,gak,nggak,aja,dong,sih,banget,lagi,mau,bir,ve,bu,çok,için,ile,gibi,ama,daha,değil,sen,ben,\
ang,mga,ng,sa,hindi,lang,naman,talaga,po,ke,ka,ki,ko,kr,mera,tera,hmara,hamara,mai,ni,pe,liye,dekh,mat,yar,\
kahan,wo,vo,jab,tab,kab,bana,banega,chalo,aage,rha,rhe,hoti,hota,krna,karke";

pub(crate) const LANGS: &[LangData] = &[
    LangData {
        lang: Lang::En,
        stopwords: "the,and,is,are,was,were,to,of,in,it,you,that,this,for,with,on,my,have,has,not,but,be,at,they,we,\
what,so,just,me,your,will,can,do,don't,from,all,get,about,if,an,or,there,how,when,why,would,been,our,their,he,she,\
him,her,i'm,it's,you're,which,who,then,than,them,very,really,still,again,please,thanks,want,need,going,know,today,\
one,up,out,too,had,did,does,doesn't,into,could,should,because,any,some,now,here,where,only,also,more,got,i,can't,\
im,u,ur,dont,cant,my,your,yours,us,thank,help,been,being,these,those,would,let,new,time,day,get,\
going,gonna,wanna,gotta,tomorrow,tonight,night,morning,see,back,first,last,next,think,watch,watching,\
year,week,weekend,people,game,make,take,go,say,said,look,looking,well,much,many,every,after,before,off,down,\
sure,thing,things,way,right,ever,everyone,someone,something,anything,though,tho,through,while,who's,i'll,he's,\
she's,that's,what's,there's,let's,i've,you'll,we're,they're,isn't,wasn't,didn't,won't,sunday,monday,tuesday,\
wednesday,thursday,friday,saturday,birthday,happy,good,best,love,like,really,here's,tweet,follow,via,its,was",
        positive: "good,great:3,love:3,loved:3,loving,lovely,awesome:3,amazing:3,excellent:3,fantastic*:3,perfect*:3,\
wonderful:3,best:3,better:1,nice,happy,glad,pleased,excited,exciting,fun,enjoy*,beautiful,brilliant:3,superb:3,\
outstanding:3,impressive,impressed,helpful,friendly,quick:1,easy:1,smooth:1.5,recommend*,win:1.5,won:1.5,winning:1.5,\
congrats,congratulations,kudos:3,appreciate*,grateful,thankful,fabulous:3,incredible:3,sweet,solid:1,worth:1,\
favorite,favourite,proud,delight*,satisf*,hope:1,hopefully:1,gorgeous,cute,fine:1,epic,stellar:3,legend*,\
resolved:1.5,glad,beautifully,bless*:1.5,adore*:3,enjoyed,enjoying,joy,blessed,wow,well done:2,\
lucky,safe:1,interesting:1,wins:1.5,perfectly:3,fantastically:3,thrilled:3,ecstatic:3,stoked:3,psyched:2.5,can't wait:2.5,cant wait:2.5,looking forward:2,\
happy birthday:2,victory:2,champion*:1.5,celebrat*:2,laugh*:1,smile*:2,funny:1.5,hilarious:2,peace:1.5,welcome:1.5,\
good luck:2,honored:2,honoured:2,inspir*:2,success*:2,fav:2,favs:2,yummy:2,delicious:2.5,gorgeous:3",
        negative: "bad,terrible:3,awful:3,horrible:3,worst:3,worse,hate:3,hated:3,hates:3,sucks:3,suck,sucked,poor,\
disappointed:3,disappointing:3,disappointment,annoying,annoyed,angry,mad:1.5,furious:3,frustrat*:2.5,upset,sad,\
unhappy,useless:3,pathetic:3,ridiculous:2.5,unacceptable:3,disgust*:3,rude:2.5,broken,slow:1,failed,failure,fails,\
wrong,crap:3,shit:2.5,damn:1,stupid,dumb,idiot*,scam:3,shame:1.5,shameful,nightmare:3,disaster:3,horrendous:3,\
atrocious:3,trash,garbage,waste,wasted,sorry:1,sick,tired:1.5,hurt,pain,painful,scared,afraid,worried,worry,cry,\
crying,sadly,unfortunately:1.5,bored,boring,lame,mess,messed,ruin*,fuck:2.5,fucked:2.5,fucks:2.5,bullshit:3,ugly,\
dead:1,died:1,death:1.5,killed:1.5,kill:1,attack*:1,war:1,incompetent:3,clueless,joke:1,ignored,ignoring,nasty,\
miserable:3,regret*,lies,liar*,lying,hell:1,pissed:2.5,worthless:3,dissatisfied:2.5,unhelpful:2.5,inconvenience*,\
hopeless,helpless,crisis,terrorist*,racist*,evil,danger*:1.5,fear,lost:1,lose:1,losing:1,loser,problem:1,issue:1,\
sucks:3,mistake,dislike,nope:1,offensive:2,cried:1.5,embarrass*:2,awkward:1.5,ashamed:2,lonely:2,revenge:1.5,controversy:1.5,\
racism:2,hating:3,stress*:2,depress*:2.5,anxious:2,anxiety:2,tragic*:3,tragedy:3,victim*:2,threat*:1.5,collapse*:2,\
corrupt*:2.5,scandal*:2,fired:1.5,lawsuit:1.5,arrest*:1.5,boo:1.5,bloody:1.5,gross:2,weird:1,creepy:2,struggl*:1.5,\
sadness:2.5,disgrace*:3,outrage*:2.5,shocking:2,sucky:2.5,nonsense:2,absurd:2.5",
        negators: "not,no,never,don't,dont,doesn't,doesnt,didn't,didnt,isn't,isnt,wasn't,wasnt,aren't,arent,weren't,\
can't,cant,cannot,couldn't,couldnt,won't,wont,wouldn't,wouldnt,shouldn't,shouldnt,haven't,havent,hasn't,hasnt,\
hadn't,ain't,aint,nothing,nobody,none,neither,nor,without,hardly",
        intensifiers: "very:1.3,really:1.3,so:1.2,extremely:1.5,totally:1.3,absolutely:1.4,completely:1.3,incredibly:1.5,\
truly:1.3,too:1.2,most:1.2,such:1.2,highly:1.3,fucking:1.5,freaking:1.4,super:1.3,quite:1.1,seriously:1.3,\
slightly:0.6,somewhat:0.7,kinda:0.7,kind of:0.7,a bit:0.7,a little:0.7,barely:0.5,pretty:1.2,real:1.2,way too:1.3",
        contrast: "but,however,yet",
        feature_request: "can you add:1.6,could you add:1.6,can u add:1.6,will you add:1.4,would you add:1.4,please add:1.6,\
pls add:1.6,plz add:1.6,can you please add:1.6,could you please add:1.6,you should add:1.6,should add:1.2,\
can you program:1.6,could you program:1.6,can you make it:1.2,could you make it:1.2,can you make the:1.2,please make it:1,\
can you implement:1.6,please implement:1.6,can you enable:1.4,please enable:1.4,can you allow:1.4,please allow:1.4,\
can you include:1.3,please include:1.3,can you bring back:1.6,please bring back:1.6,bring back:1.2,can you introduce:1.4,\
can you offer:1.2,please offer:1.2,can you support:1,please support:1.2,can you build:1.4,can you create:1.2,\
can you integrate:1.4,can you let us:1.4,please let us:1.2,let us choose:1.4,why not add:1.6,why don't you add:1.6,\
you guys should:1.2,you should make:1.2,you need to add:1.6,would be great if:1.6,would be nice if:1.6,\
would be awesome if:1.6,would be cool if:1.6,would be helpful if:1.6,would be great to:1.4,would be nice to:1.4,\
it'd be great:1.4,it'd be nice:1.4,it would be great:1.4,it would be nice:1.4,it would be cool:1.4,\
would love to see:1.6,would love it if:1.6,i'd love to see:1.6,love to see:1,i would love:1,i wish:1.5,wish you:1.3,\
wish there was:1.6,wish there were:1.6,wish i could:1.2,feature request:2,feature suggestion:2,suggestion:1,\
i suggest:1.3,need an option:1.6,an option to:1.3,option to:1,ability to:1.2,the ability:1,add support:1.5,\
add an option:1.6,add a feature:1.6,add the option:1.6,add the ability:1.6,add more:1.2,add flights:1.6,\
more flights:1.2,should be able to:1.3,should have an option:1.6,should let:1,should allow:1.2,why can't i:0.8,\
why isn't there:1.2,is there a way to:0.6,any plans to:1,any chance you:1,any chance of:0.8,when will you add:1.6,\
when are you adding:1.6,will there be:0.6,next update:0.8,future update:1,dark mode:1,please consider:1.2,\
make it possible:1.3,hoping for:0.8,it needs:0.8,needs an:0.8,needs a:0.6,request:0.6,i miss:1.2,miss the:0.6,miss some:1,lack*:1,missing feature:1.5,one thing missing:1.5,\
need more:1,could use:1.2,could do with:1.2,can be improved:1.2,could be improved:1.2,could be better:1,only wish:1.5,\
wish it had:1.5,i'd like to:0.8,i would like:0.8,would like to see:1.5,would like to have:1.5,more features:1.3,\
features please:1.5,more options:1.2,hope to see:1.3,please bring:1.5,bring this back:1.5,stars if:1.5,if it had:1.3,\
if you could add:1.6,if you add:1.3,next version:1.2,in the next:0.8,the option:0.8,an option:0.8,option for:1,\
feature:0.6,features:0.6,integration:0.8,support for:0.8,would be great:1.3,would be nice:1.3,would be awesome:1.3,\
would be cool:1.3,will be great:1,be able to:0.8,allow us:1,please make:1,please include:1.3,add some:1.2,\
add few:1.2,add a few:1.2,add an:1,expecting more:1,want more:1,improvement:0.8,suggest*:1.2",
        question: "how do i,how can i,how to:0.6,does anyone know,anyone know,is there a way,is it possible,do you know:0.8,\
i was wondering,wondering if,when will:0.8,how long:0.8,any update:0.6,any idea:0.8,where can i,can i:0.5,\
what time:0.8,how much:0.8,do you have:0.7,could you tell me,can you tell me,can you help:0.7,could you help:0.7",
        question_start: "what,when,where,why,how,who,which,is,are,can,could,do,does,did,will,would,should,has,have,anyone,any,\
whats,what's,hows,how's,wheres,where's,may",
        problem: "not working:1.5,isn't working:1.5,isnt working:1.5,stopped working:1.5,doesn't work:1.5,doesnt work:1.5,\
does not work:1.5,won't work:1.5,didn't work:1.5,not work:1,broken:1.2,broke:1,refund:1.2,refunds:1.2,delayed:1.2,\
delay:1,delays:1,cancelled:1.2,canceled:1.2,cancellation:0.8,still waiting:1.5,waiting for:0.6,no response:1.5,\
no reply:1.2,never received:1.5,never arrived:1.5,hasn't arrived:1.5,didn't arrive:1.5,not received:1.5,\
haven't received:1.5,havent received:1.5,lost my:1.2,lost luggage:1.5,lost bag:1.5,missing:1,crash*:1.2,bug:1,\
bugs:1,buggy:1.2,glitch*:1.2,error:1,errors:1,outage:1.5,down again:1.5,is down:1.2,overcharged:1.5,\
charged twice:1.5,double charged:1.5,charged me:1,wrong order:1.5,wrong item:1.5,damaged:1.2,defective:1.5,\
faulty:1.5,complain*:1.5,on hold:1,waste of:1.5,fix this:1.2,fix it:1,please fix:1.2,fix your:1.2,can't log:1.5,\
cant log:1.5,can't login:1.5,unable to:1.2,won't let me:1.2,keeps:0.6,slow:0.6,nobody:0.8,ripped off:1.5,\
rip off:1.5,poor service:1.5,bad service:1.5,never again:1.5,been waiting:1.2,stuck:0.8,not happy:1.5,\
not impressed:1.5,why is my:0.8,where is my:1.2,where's my:1.2,late:0.8,overbooked:1.5,missed:0.8,leaking:1.2,\
leak:1,charged:0.6,problem:1,problems:1,issue:1,issues:1,not fixed:1.5,no help:1.2,hung up:1.5,still no:1.2,\
no wifi:1.2,no internet:1.2,no signal:1.2,no service:1.2,locked out:1.2,disconnected:1,keeps crashing:1.5,\
lagging:1.2,freezes:1.2,freezing:1,won't load:1.5,doesn't load:1.5,not loading:1.5,can't connect:1.5,\
cannot connect:1.5,failed:0.8,failing:0.8,fails:0.8,useless:0.8,worst:0.6,terrible:0.5,horrible:0.5,awful:0.5,can't:0.8,cant:0.8,cannot:0.8,can not:0.8,won't:0.6,wont:0.5,doesn't:0.5,doesnt:0.5,didn't:0.5,\
didnt:0.5,couldn't:0.6,isn't:0.4,wasn't:0.4,still can't:1.5,no longer:1,not able to:1.2,help:0.4,need help:0.8,\
any advice:0.6,what gives:1.2,what's going on:1,what is going on:1,kidding me:1.2,are you kidding:1.2,what the:0.8,\
nothappy:1.5,get your act together:1.5,last time i:1,never buy:1.5,recall*:1,stops working:1.5,stop working:1.5,\
went down:1.2,not showing:1.2,won't take:1.2,removed:0.6,logged out:0.8,logging me out:1.2,expired:1,hard to:0.8,\
impossible:1.2,incorrect:1,spam*:1,again:0.4,still:0.3,disappointed:0.8,why can't:1,why won't:1.2,why doesn't:1.2,\
why does my:1,why do i:0.8",
        thanks: "thank you:2,thanks:1.5,thank u:2,thx:1.5,tysm:2,thanks so much:2,much appreciated:2,appreciate it:2,\
great job:2,well done:1,good job:2,shout out:1,shoutout:1,props to:1.5,you rock:2,you guys rock:2,\
best customer service:2.5,great service:2,great customer service:2.5,amazing service:2.5,excellent service:2.5,\
love you guys:2,love this:1.5,keep it up:1.5,cheers:1,kudos:1,problem solved:1.5,issue resolved:1.5,all sorted:1.5,sorted it:1.2,fixed it:1,works now:1.2,working now:1.2",
        urgent: "emergency:0.65,on fire:0.6,fire:0.45,smoke:0.5,injured:0.65,injury:0.55,bleeding:0.65,ambulance:0.65,\
police:0.4,danger:0.5,dangerous:0.55,unsafe:0.55,safety:0.45,hacked:0.65,hacker:0.55,fraud:0.6,fraudulent:0.6,\
identity theft:0.65,stolen:0.5,unauthorized:0.55,unauthorised:0.55,scam:0.4,threat:0.45,explod*:0.6,gas leak:0.7,\
carbon monoxide:0.7,accident:0.5,collision:0.5,suicide:0.7,urgent:0.4,urgently:0.4,asap:0.35,immediately:0.35,\
right now:0.3,right away:0.3,help me:0.2,please help:0.2,stuck:0.35,stranded:0.45,locked out:0.4,can't access:0.4,\
cant access:0.4,cannot access:0.4,can't log in:0.35,cant log in:0.35,can't login:0.35,no access:0.35,\
lost access:0.4,account locked:0.4,account suspended:0.35,missed my flight:0.4,missed flight:0.4,miss my flight:0.4,\
flight leaves:0.35,boarding:0.2,no power:0.35,no heat:0.35,no water:0.35,medical:0.3,medicine:0.3,wheelchair:0.3,\
deadline:0.25,tonight:0.15,today:0.1,still waiting:0.2,hours:0.15,days:0.1,charged twice:0.3,overdraft:0.3",
    },
    LangData {
        lang: Lang::Da,
        stopwords: "og,det,er,jeg,ikke,at,en,den,til,på,med,for,af,har,de,som,var,mig,han,hun,vi,så,men,kan,om,hvad,\
hvorfor,hvordan,hvornår,nu,også,bare,meget,være,været,blev,bliver,efter,noget,nogen,sådan,jeres,jer,dig,sig,mit,\
min,mine,skal,vil,kunne,ville,her,der,hvis,når,fra,eller,lige,godt,mere,helt,altid,aldrig,igen,op,ud,dag,tak,hej,\
fordi,selv,endnu,stadig,allerede,uden,jo,dem,deres,hos,nej,lidt,fik,gør,gøre,sidste,første,hele,andet,anden,\
et,ved,sgu,nok,kun,mange,man,hvor,bliver,synes,gerne,tilbage,virkelig,fået,kommer,flytter,længere,\
hjælp,hjælpen,hjælpe,nogle,sådan,måske,siger,sagde,gjort,gået,fordi",
        positive: "god,godt,gode,fed:2,fedt:2,fede:2,super,fantastisk*:3,fremragende:3,glad,glade,glæde*,elsker:3,elske:3,\
dejlig*,lækker*,skøn*,flot*,perfekt:3,genial*:3,fin,fint,fine,tilfreds:2,imponere*,sød*,hjælpsom*,venlig,venlige,\
hurtig*:1,nem:1,nemt:1,bedst*:3,bedre:1,smuk*,sej:2,sejt:2,hurra,anbefal*:2,hyggelig*,kanon:2,topklasse:3,\
vidunderlig*:3,herlig*,fornøjet:2,begejstret:3,imponerende:3,yndlings*",
        negative: "dårlig*:2.5,elendig*:3,irriter*:2.5,træls:2.5,ærgerlig*:2,skuffe*:2.5,vred*,hader:3,hade:3,\
forfærdelig*:3,frygtelig*:3,katastrofe*:3,katastrofal*:3,pinlig*,latterlig*:2.5,håbløs*:2.5,ubrugelig*:3,\
uacceptabel*:3,trist*,ked af det:2,kedelig*,langsom*:1,dum,dumt,dumme,idiot*,lort:3,lorte*:3,pis:2.5,fanden:2,\
øv:1.5,ulækker*,grim*,værst*:3,værre:1,utilfreds:2.5,bekymre*,bange:1.5,sørgelig*,skandale*:3,svindel:3,spild:2,\
frustrer*:2.5,sur:1.5,surt:1.5,forbandet:2,møg*:2,utålelig*:3,uhøflig*:2.5,desværre:1.5",
        negators: "ikke,ik,aldrig,ingen,intet,uden,hverken,ingenting",
        intensifiers: "meget:1.3,virkelig:1.4,rigtig:1.3,helt:1.2,totalt:1.4,utroligt:1.4,vildt:1.4,mega:1.4,sindssygt:1.5,\
ekstremt:1.5,alt for:1.3,pisse:1.5,enormt:1.4,vanvittig*:1.5,super:1.3,lidt:0.7,ret:1.1",
        contrast: "men",
        feature_request: "kan i tilføje:1.6,kan du tilføje:1.6,kunne i tilføje:1.6,kunne du tilføje:1.6,i burde tilføje:1.6,\
tilføj venligst:1.6,venligst tilføj:1.6,ville være fedt hvis:1.6,ville være fedt at:1.4,ville være godt hvis:1.6,\
ville være rart hvis:1.6,ville være dejligt hvis:1.6,ville være super hvis:1.6,ville være smart hvis:1.6,\
ville være fedt:1.2,ville være godt:1,ville være rart:1.2,ville være smart:1.2,ville ønske:1.4,jeg ønsker:1,\
ønsker mig:1.3,ønske om:1,gerne have mulighed for:1.6,mulighed for at:1,savner en:1.2,savner at:1.2,\
savner muligheden:1.4,hvorfor kan man ikke:1,kan i ikke lave:1.4,kan i lave:1.3,kunne i lave:1.3,i burde:1.2,\
forslag:1,kan man få:0.6,vil i ikke:0.8,kom nu med:1.2,hvornår kommer:0.8,kan i programmere:1.6,kan i få:0.8,kan i ikke få:1.4",
        question: "hvordan kan jeg,ved nogen,er det muligt,er der nogen:0.6,kan jeg:0.5,hvor lang tid:0.8,hvad koster:0.8",
        question_start: "hvad,hvornår,hvor,hvorfor,hvordan,hvem,hvilken,hvilke,kan,er,har,vil,skal,må,findes,gør",
        problem: "virker ikke:1.5,fungerer ikke:1.5,virker stadig ikke:1.5,i stykker:1.5,defekt*:1.5,forsinket:1.2,\
forsinkelse*:1.2,aflyst:1.2,aflysning*:1,refusion:1.2,penge tilbage:1.5,pengene tilbage:1.5,problem*:1,fejl*:1,\
venter stadig:1.5,intet svar:1.5,ingen svar:1.5,ikke modtaget:1.5,aldrig modtaget:1.5,mangler:1,klage*:1.5,\
kan ikke logge:1.5,nedbrud:1.5,nede:0.8,overopkræv*:1.5,trukket to gange:1.5,forkert:1,ødelagt:1.5,\
hvor er min:1.2,hvor bliver:1.2,flytter sig ikke:1.2,virker det ikke:1.2,kan ikke:0.5",
        thanks: "tak:1.5,tusind tak:2,mange tak:2,tak for:1.5,tak skal i have:2,godt gået:2,godt arbejde:2,\
super service:2,god service:2,i er de bedste:2,i er bare de bedste:2",
        urgent: "nødsituation:0.65,brand:0.45,brænder:0.55,røg:0.45,kvæstet:0.65,skadet:0.5,ulykke:0.5,politi:0.4,\
farlig*:0.55,hacket:0.65,svindel:0.55,bedrageri:0.6,stjålet:0.5,uautoriseret:0.55,haster:0.4,hurtigst muligt:0.35,\
akut:0.4,omgående:0.35,med det samme:0.3,hjælp:0.3,strandet:0.45,sidder fast:0.35,låst ude:0.4,\
kan ikke komme ind:0.4,ingen adgang:0.35,mistet adgang:0.4,misset mit fly:0.4,ingen strøm:0.35,venter stadig:0.2",
    },
    LangData {
        lang: Lang::No,
        stopwords: "og,det,er,jeg,ikke,at,en,den,til,på,med,for,av,har,de,som,var,meg,han,hun,vi,så,men,kan,om,hva,\
hvorfor,hvordan,når,nå,også,bare,veldig,være,vært,ble,blir,etter,noe,noen,sånn,dere,deg,seg,mitt,min,mine,skal,\
vil,kunne,ville,her,der,hvis,fra,eller,bra,mer,helt,alltid,aldri,igjen,opp,ut,dag,takk,hei,fordi,selv,ennå,\
fortsatt,allerede,uten,jo,dem,deres,hos,ikkje,eg,berre,kva,korleis,kvifor,mye,litt,nok,hadde,nei,fikk,gjør,\
gjøre,siste,første,hele,annet,annen,et,ved,kun,mange,man,hvor,synes,gjerne,tilbake,heller,blitt,også,lenger,\
slik,akkurat,skjønner,fått,gått,gjort,hjelpe,hjelpen,hjelp,enda,sjøl,kjempe,fikk,sier,sa",
        positive: "bra:2,god,godt,gode,flott*,fantastisk*:3,strålende:3,fornøyd:2,glad,elsker:3,digg*:2,herlig*,\
perfekt:3,kjempebra:3,supert,super,fin,fint,fine,vakker*,hyggelig*,hjelpsom*,rask:1,enkel:1,best:3,beste:3,bedre:1,\
anbefal*:2,imponert*,topp:1.5,nydelig*:3,fabelaktig*:3,kult:2,gøy:2,morsom*:1.5",
        negative: "dårlig*:2.5,elendig*:3,irriter*:2.5,skuff*:2.5,sint:2,forbanna:3,hater:3,forferdelig*:3,fryktelig*:3,\
katastrofe*:3,katastrofal*:3,pinlig*,latterlig*:2.5,håpløs*:2.5,ubrukelig*:3,uakseptabel*:3,trist*,kjedelig*,\
treg*:1.5,dum,dumt,idiot*,dritt:3,faen:2,helvete:2,verst*:3,verre:1,misfornøyd:2.5,frustrer*:2.5,\
skandale*:3,svindel:3,lei meg:1.5,lei av:2,synd:1.5,dessverre:1.5,frekk*:2.5,jævla:2",
        negators: "ikke,ikkje,aldri,ingen,intet,ingenting,uten,verken",
        intensifiers: "veldig:1.4,virkelig:1.4,helt:1.2,totalt:1.4,utrolig:1.4,sykt:1.5,kjempe:1.4,ekstremt:1.5,\
altfor:1.3,skikkelig:1.4,jævlig:1.5,super:1.3,litt:0.7,ganske:1.1",
        contrast: "men",
        feature_request: "kan dere legge til:1.6,kunne dere legge til:1.6,kan du legge til:1.6,legg til:1.3,\
vennligst legg til:1.6,hadde vært fint om:1.6,hadde vært fint å:1.4,hadde vært kult om:1.6,hadde vært flott om:1.6,\
hadde vært bra om:1.6,hadde vært greit om:1.6,hadde vært fint:1.2,hadde vært kult:1.2,ønsker meg:1.3,\
jeg ønsker:1,skulle ønske:1.4,mulighet for å:1,savner en:1.2,savner muligheten:1.4,hvorfor kan man ikke:1,\
kan dere lage:1.3,dere burde:1.2,forslag:1,når kommer:0.8,kan dere programmere:1.6",
        question: "hvordan kan jeg,vet noen,er det mulig,kan jeg:0.5,hvor lang tid:0.8,hva koster:0.8",
        question_start: "hva,når,hvor,hvorfor,hvordan,hvem,hvilken,hvilke,kan,er,har,vil,skal,må,finnes,gjør,kva,korleis,kvifor",
        problem: "virker ikke:1.5,fungerer ikke:1.5,funker ikke:1.5,i stykker:1.5,ødelagt:1.5,forsinket:1.2,\
forsinkelse*:1.2,innstilt:1.2,kansellert:1.2,refusjon:1.2,pengene tilbake:1.5,penger tilbake:1.5,problem*:1,\
feil:1,venter fortsatt:1.5,venter fremdeles:1.5,ikke mottatt:1.5,aldri mottatt:1.5,mangler:1,klage*:1.5,\
kan ikke logge:1.5,nede:0.8,hvor er min:1.2,ingen svar:1.5,kan ikke:0.5",
        thanks: "takk:1.5,tusen takk:2,mange takk:2,takk for:1.5,bra jobbet:2,godt jobbet:2,god service:2,dere er best:2,\
dere er best:2",
        urgent: "nødsituasjon:0.65,brann:0.5,brenner:0.55,røyk:0.45,skadet:0.5,ulykke:0.5,politi:0.4,farlig*:0.55,\
hacket:0.65,svindel:0.55,bedrageri:0.6,stjålet:0.5,haster:0.4,snarest:0.35,akutt:0.4,umiddelbart:0.35,\
med en gang:0.3,hjelp:0.3,strandet:0.45,sitter fast:0.35,låst ute:0.4,kommer ikke inn:0.4,ingen tilgang:0.35,\
mistet flyet:0.4",
    },
    LangData {
        lang: Lang::Sv,
        stopwords: "och,det,är,jag,inte,att,en,den,till,på,med,för,av,har,de,som,var,mig,han,hon,vi,så,men,kan,om,vad,\
varför,hur,när,nu,också,bara,mycket,vara,varit,blev,blir,efter,något,några,sådan,ni,er,dig,sig,mitt,min,mina,ska,\
skall,vill,kunde,skulle,här,där,från,eller,bra,mer,helt,alltid,aldrig,igen,upp,ut,dag,tack,hej,eftersom,själv,\
ännu,fortfarande,redan,utan,ju,dem,deras,hos,nej,lite,fick,gör,göra,sista,första,hela,annat,inget,ingen,inga,\
detta,denna,dessa,sen,ett,vid,bara,många,man,hur,tycker,gärna,tillbaka,också,blivit,känns,väldigt",
        positive: "bra:2,jättebra:3,bäst*:3,bättre:1,fantastisk*:3,underbar*:3,toppen:2.5,grym*:2.5,härlig*,perfekt:3,\
glad,glada,nöjd:2,nöjda:2,älskar:3,älska:3,snygg*,fin,fint,fina,trevlig*,hjälpsam*,snabb:1,enkel:1,\
rekommender*,imponerad*,kul:2,roligt:2,superbra:3,najs:2,schysst:2,strålande:3,utmärkt*:3,tacksam*:2,smidig*:1.5",
        negative: "dålig*:2.5,dåligt:2.5,usel*:3,irriter*:2.5,besviken:2.5,besvikna:2.5,besvikelse:2.5,arg:2,arga:2,\
sur:1.5,hatar:3,hemsk*:3,fruktansvärd*:3,katastrof*:3,pinsam*,löjlig*:2.5,hopplös*,värdelös*:3,oacceptabel*:3,\
ledsen:1.5,tråkig*:2,trög*:1.5,långsam*:1,dum,dumt,idiot*,skit:3,skitdålig:3,fan:2,jävligt:2,sämst*:3,sämre:1,\
missnöjd:2.5,frustrer*:2.5,skandal*:3,bedrägeri:3,tyvärr:1.5,synd:1.5,oförskämd*:2.5,förbannad*:3",
        negators: "inte,ej,icke,aldrig,ingen,inget,inga,ingenting,utan,varken",
        intensifiers: "mycket:1.3,verkligen:1.4,väldigt:1.4,helt:1.2,totalt:1.4,otroligt:1.4,sjukt:1.5,extremt:1.5,\
alldeles:1.3,riktigt:1.3,jätte:1.4,jävla:1.5,super:1.3,lite:0.7,ganska:1.1",
        contrast: "men",
        feature_request: "kan ni lägga till:1.6,kan du lägga till:1.6,kunde ni lägga till:1.6,lägg till:1.3,\
snälla lägg till:1.6,skulle vara bra om:1.6,skulle vara kul om:1.6,skulle vara skönt om:1.6,skulle vara najs om:1.6,\
vore bra om:1.6,vore kul om:1.6,vore skönt om:1.6,vore toppen om:1.6,vore bra:1.1,vore kul:1.1,önskar att:1.3,\
jag önskar:1.2,önskar mig:1.3,möjlighet att:1,saknar en:1.2,saknar möjligheten:1.4,varför kan man inte:1,\
kan ni göra:1.2,ni borde:1.2,förslag:1,när kommer:0.8,kan ni programmera:1.6",
        question: "hur kan jag,vet någon,är det möjligt,kan jag:0.5,hur lång tid:0.8,vad kostar:0.8",
        question_start: "vad,när,var,varför,hur,vem,vilken,vilka,kan,är,har,vill,ska,får,finns,gör",
        problem: "fungerar inte:1.5,funkar inte:1.5,fungerar fortfarande inte:1.5,trasig*:1.5,sönder:1.5,försenad*:1.2,\
försening*:1.2,inställd*:1.2,återbetalning:1.2,pengarna tillbaka:1.5,pengar tillbaka:1.5,problem*:1,fel:1,\
väntar fortfarande:1.5,inget svar:1.5,inte fått:1.2,saknas:1,klagomål:1.5,reklamation:1.5,kan inte logga:1.5,\
nere:0.8,var är min:1.2,kan inte:0.5",
        thanks: "tack:1.5,tusen tack:2,stort tack:2,tack för:1.5,bra jobbat:2,snyggt jobbat:2,bra service:2,ni är bäst:2",
        urgent: "nödsituation:0.65,brand:0.45,brinner:0.55,rök:0.45,skadad:0.5,olycka:0.5,polis:0.4,farlig*:0.55,\
hackad*:0.65,hackat:0.65,bedrägeri:0.6,stulen:0.5,stulet:0.5,brådskande:0.4,snarast:0.35,akut:0.4,\
omedelbart:0.35,hjälp:0.3,strandsatt:0.45,sitter fast:0.35,utelåst:0.4,kommer inte in:0.4,ingen åtkomst:0.35,\
missade flyget:0.4",
    },
    LangData {
        lang: Lang::Nl,
        stopwords: "de,het,een,en,is,van,ik,je,dat,die,niet,in,op,te,met,voor,zijn,er,maar,om,als,aan,ook,wat,bij,nog,\
wel,kan,naar,geen,hij,ze,we,wij,jullie,mijn,heb,heeft,hebben,was,waren,dit,deze,dan,toch,al,nu,of,door,over,uit,\
zo,zou,moet,kunnen,worden,wordt,omdat,waarom,hoe,wanneer,waar,alleen,echt,heel,mij,me,jij,u,uw,onze,ons,hier,\
daar,iets,niets,niks,nooit,altijd,weer,bedankt,dank,gaat,ga,gaan,wordt,word,hun,zij,haar,mee,even,veel,vandaag",
        positive: "goed:2,geweldig*:3,fantastisch*:3,prachtig*:3,mooi*:2,leuk*:2,fijn*:2,blij:2,tevreden:2,top:2,super,\
perfect*:3,uitstekend*:3,heerlijk*:2.5,lekker*:2,gaaf:2,toppie:2,aanrader:2.5,aanbevel*,snel:1,makkelijk:1,\
handig:1.5,vriendelijk*:2,behulpzaam:2,beste:3,beter:1,tof:2,knap:1.5,genieten:2,geniet*:2,hou van:3,houd van:3,\
dol op:2.5,gelukkig:2",
        negative: "slecht*:2.5,verschrikkelijk*:3,vreselijk*:3,afschuwelijk*:3,waardeloos:3,waardeloze:3,irritant*:2.5,\
ergerlijk*,teleurgesteld:2.5,teleurstell*:2.5,boos:2,kwaad:2,haat:3,haten:3,belachelijk*:2.5,schandalig*:3,\
schande:3,triest*:2,zielig*:1.5,saai*:1.5,traag:1.5,dom:2,stom*:2,kut:3,klote:3,balen:2,jammer:1.5,helaas:1.5,\
slechtste:3,slechter:2,ontevreden:2.5,frustrer*:2.5,oplichting:3,ramp:3,drama:2,zwak:1.5,onbeschoft:2.5",
        negators: "niet,geen,nooit,niets,niks,zonder,noch,nergens",
        intensifiers: "heel:1.3,erg:1.3,echt:1.3,zeer:1.4,enorm:1.4,ontzettend:1.5,hartstikke:1.4,totaal:1.3,super:1.3,\
best:1.1,nogal:1.1,een beetje:0.7,beetje:0.7",
        contrast: "maar",
        feature_request: "kunnen jullie toevoegen:1.6,kunnen jullie:1,kunt u toevoegen:1.6,zouden jullie:1,voeg toe:1.3,\
voeg alsjeblieft:1.6,graag toevoegen:1.6,toevoegen:1,zou fijn zijn:1.6,zou mooi zijn:1.6,zou leuk zijn:1.6,\
zou handig zijn:1.6,zou top zijn:1.6,zou het fijn:1.4,zou het mooi:1.4,zou het handig:1.4,ik wens:1,\
ik zou graag:1,graag zien:1.3,zou graag zien:1.6,mogelijkheid om:1,optie om:1,ik mis:1,waarom kan ik niet:0.8,\
jullie zouden:1,jullie moeten:1,suggestie:1,voorstel:1,wanneer komt:0.8",
        question: "hoe kan ik,weet iemand,is het mogelijk,kan ik:0.5,hoe lang:0.8,wat kost:0.8",
        question_start: "wat,wanneer,waar,waarom,hoe,wie,welke,kan,kunnen,is,zijn,heeft,hebben,wordt,mag,moet",
        problem: "werkt niet:1.5,werkt nog steeds niet:1.5,doet het niet:1.5,kapot:1.5,stuk:0.8,defect:1.5,vertraagd:1.2,\
vertraging*:1.2,geannuleerd:1.2,terugbetaling:1.2,geld terug:1.5,probleem:1,problemen:1,fout*:1,storing*:1.5,\
wacht nog steeds:1.5,nog steeds niet:1.2,geen antwoord:1.5,geen reactie:1.5,niet ontvangen:1.5,\
nooit ontvangen:1.5,ontbreekt:1,klacht*:1.5,kan niet inloggen:1.5,waar blijft:1.2,waar is mijn:1.2,kan niet:0.5",
        thanks: "bedankt:1.5,dank je:1.5,dank u:1.5,dankjewel:2,dankuwel:2,hartelijk dank:2,top service:2,goed gedaan:2,\
complimenten:2,jullie zijn geweldig:2",
        urgent: "noodgeval:0.65,brand:0.45,rook:0.45,gewond:0.6,ongeluk:0.5,politie:0.4,gevaarlijk*:0.55,gehackt:0.65,\
fraude:0.6,oplichting:0.5,gestolen:0.5,dringend:0.4,urgent:0.4,zsm:0.35,onmiddellijk:0.35,meteen:0.3,help:0.3,\
gestrand:0.45,buitengesloten:0.4,kan niet inloggen:0.35,geen toegang:0.35,vlucht gemist:0.4",
    },
    LangData {
        lang: Lang::De,
        stopwords: "der,die,das,und,ist,ich,nicht,zu,den,es,mit,sich,des,auf,für,im,dem,ein,eine,einen,einem,einer,\
auch,als,an,nach,wie,wir,aus,bei,aber,noch,wird,so,sie,kann,nur,oder,um,mir,mich,ihr,euch,mein,meine,habe,hat,\
haben,war,sind,schon,wenn,dass,daß,was,warum,wieso,weshalb,wo,wann,immer,wieder,kein,keine,doch,nichts,heute,\
bitte,danke,sehr,gibt,hier,jetzt,mal,man,uns,unser,eure,euer,ja,nein,vom,zum,zur,über,weil,dieser,diese,dieses,\
einfach,ganz,gerade,seit,seid,bin,bist,werden,würde,könnt,könnte,hallo,wer,da,dann,mehr,von,ist,vor,gegen,ins,am,beim,\
unter,zwischen,durch,ohne,sein,ihre,ihren,sehr,alles,etwas,nach,soll,will,muss,gibt,geht,mach,macht,morgen,gestern,\
vielen,viel,viele,dank,leider,euren,eurem,unsere,heißt,weiß",
        positive: "gut:2,gute*:2,super,toll*:2.5,großartig*:3,grossartig*:3,fantastisch*:3,wunderbar*:3,hervorragend*:3,\
ausgezeichnet*:3,perfekt*:3,schön*:2,prima:2,klasse:2,genial*:3,spitze:2.5,liebe:1.5,lieben:2.5,liebt:2.5,\
mag:1,gefällt:2,gefallen:2,freue*:2,freut:2,froh:2,glücklich*:2.5,zufrieden*:2,begeistert:3,empfehle*:2,\
empfehlenswert:2.5,beste*:3,besser:1,hilfreich*:2,freundlich*:2,schnell:1,geil*:2.5,lecker*:2,juhu:2,\
herrlich*:2.5,cool,danke:1,traumhaft*:3,wow,freude:2.5,glückwunsch*:2.5,gratulation*:2.5,sieg*:2,gewonnen:2,gewinn*:1.5,erfolg*:2,spaß:2,\
lustig:1.5,interessant*:1.5,hoffnung:1.5,hoffentlich:1,vorfreude:2.5,wunderschön*:3,liebling*:2,bravo:2,genieß*:2,\
lieblings*:2,stolz:2,willkommen:2,schönes wochenende:2",
        negative: "schlecht*:2.5,schlimm*:2.5,schrecklich*:3,furchtbar*:3,katastroph*:3,katastrophal*:3,miserabel*:3,\
mies*:2.5,grauenhaft*:3,ärger*:2,nervig*:2.5,nervt:2.5,nerven:2,enttäusch*:2.5,sauer:2,wütend:2.5,hasse:3,hass:3,\
traurig*:2,langweilig*:1.5,langsam*:1,dumm*:2,blöd*:2,idiot*,scheiße:3,scheisse:3,scheiß*:3,scheiss*:3,mist:2.5,\
kacke:3,frechheit:3,unverschämt*:3,lächerlich*:2.5,peinlich*:2,unmöglich*:2,unzufrieden*:2.5,frustrier*:2.5,\
betrug:3,abzocke:3,skandal*:3,leider:1.5,schade:1.5,übel:2,schlechteste*:3,schlechter:2,unfreundlich*:2.5,\
angst:2,verdammt:2,müll:2.5,versagt:2.5,versager:2.5,zumutung:3,ätzend:3,doof:2,opfer:2,bedroh*:1.5,krise:2,tot:1.5,tote:1.5,getötet:2.5,krieg:2,anschlag:2.5,terror*:2.5,\
verschmutz*:1.5,verlust*:1.5,versagen:2.5,pleite:2,korrupt*:2.5,lüge*:2,lügner*:2.5,dreck*:2.5,hässlich*:2.5,\
unfair:2,ungerecht*:2,kritisier*:1.5,streit:1.5,schuld:1.5,leid:1.5,schmerz*:2,krank:1.5,gefahr:1.5,armut:2",
        negators: "nicht,nie,niemals,kein,keine,keinen,keinem,keiner,keines,nichts,ohne,weder,nirgends",
        intensifiers: "sehr:1.3,wirklich:1.3,echt:1.3,total:1.4,extrem:1.5,absolut:1.4,ziemlich:1.2,richtig:1.3,voll:1.3,\
mega:1.4,unglaublich:1.4,besonders:1.3,äußerst:1.5,völlig:1.3,komplett:1.3,super:1.3,etwas:0.7,bisschen:0.7,\
ein bisschen:0.7,leicht:0.7",
        contrast: "aber,jedoch,doch",
        feature_request: "könntet ihr:1.3,könnt ihr:1,können sie:0.8,könnten sie:1,bitte fügt:1.6,bitte fügen sie:1.6,\
fügt bitte:1.6,bitte einbauen:1.6,bitte hinzufügen:1.6,hinzufügen:1,einbauen:1,wäre toll:1.3,wäre schön:1.3,\
wäre super:1.3,wäre cool:1.3,wäre klasse:1.3,wäre praktisch:1.3,wäre hilfreich:1.3,wäre es möglich:1.3,\
wäre nett:1,wäre es toll:1.3,wäre es schön:1.3,wäre genial:1.3,ich wünsche mir:1.5,wünsche mir:1.3,\
wünschenswert:1.5,ihr solltet:1.2,sie sollten:0.8,vorschlag:1,die möglichkeit:1,möglichkeit zu:1,option zu:1,\
es fehlt:0.8,mir fehlt:1,warum kann man nicht:1,warum gibt es kein:1.2,wann kommt:0.8,programmieren:0.8",
        question: "wie kann ich,weiß jemand,weiss jemand,ist es möglich,kann ich:0.5,wie lange:0.8,was kostet:0.8,gibt es:0.5",
        question_start: "was,wann,wo,warum,wieso,weshalb,wie,wer,welche,welcher,welches,kann,können,ist,sind,hat,gibt,\
habt,hast,weiß,weiss,könnt,könnte,muss,darf,wird,woher,wohin",
        problem: "funktioniert nicht:1.5,funktioniert immer noch nicht:1.5,geht nicht:1.2,kaputt:1.5,defekt*:1.5,\
verspätet:1.2,verspätung*:1.2,storniert:1.2,ausgefallen:1.2,fällt aus:1.2,erstattung:1.2,rückerstattung:1.5,\
geld zurück:1.5,problem*:1,fehler*:1,störung*:1.5,warte immer noch:1.5,warte seit:1.2,keine antwort:1.5,\
keine rückmeldung:1.5,nicht erhalten:1.5,nie erhalten:1.5,nicht angekommen:1.5,fehlt:1,beschwerde*:1.5,\
reklamation:1.5,kann mich nicht einloggen:1.5,nicht einloggen:1.5,wo bleibt:1.2,wo ist mein:1.2,zu spät:1,\
geht immer noch nicht:1.5,kann nicht:0.5",
        thanks: "danke:1.5,vielen dank:2,danke schön:2,dankeschön:2,danke sehr:2,herzlichen dank:2,super service:2,\
toller service:2,gut gemacht:2,weiter so:2,ihr seid die besten:2,lob:1.5",
        urgent: "notfall:0.65,feuer:0.5,brand:0.45,brennt:0.55,rauch:0.45,verletzt:0.6,unfall:0.5,polizei:0.4,\
gefährlich*:0.55,gehackt:0.65,betrug:0.55,gestohlen:0.5,unbefugt*:0.55,dringend:0.4,eilig:0.35,sofort:0.35,\
umgehend:0.35,asap:0.35,hilfe:0.3,sitze fest:0.35,stecke fest:0.35,gestrandet:0.45,ausgesperrt:0.4,\
kein zugriff:0.35,komme nicht rein:0.4,flug verpasst:0.4",
    },
    LangData {
        lang: Lang::Fr,
        stopwords: "le,la,les,de,des,du,un,une,et,est,en,je,tu,il,elle,nous,vous,ils,que,qui,pas,ne,pour,dans,sur,avec,\
ce,cette,ces,c'est,mais,ou,au,aux,on,mon,ma,mes,ton,votre,vos,son,sa,ses,leur,plus,très,tout,tous,bien,être,avoir,\
ai,suis,sont,été,fait,faire,j'ai,n'est,qu'il,y,comment,pourquoi,quand,où,merci,bonjour,toujours,encore,rien,jamais,\
aussi,déjà,chez,sans,parce,même,alors,ça,ca,moi,toi,lui,eux,si,d'un,d'une,quoi,avez,êtes,faut,peut,va,fois,\
cest,jai,trop,vraiment,après,avant,comme,peu,elles,notre,nos",
        positive: "bon:1.5,bonne:1.5,bien:1.5,super,génial*:3,genial*:3,excellent*:3,parfait*:3,magnifique*:3,\
merveilleu*:3,formidable*:3,fantastique*:3,incroyable*:2.5,top:2,j'adore:3,adore*:3,aime:2,aimé:2,j'aime:2,heureu*:2.5,\
content*:2,ravi*:2.5,satisfait*:2,bravo:2.5,félicitations:2.5,sympa:2,agréable*:2,rapide:1,efficace*:2,\
meilleur*:3,mieux:1,beau:2,belle:2,joli*:2,chouette:2,impeccable*:3,trop bien:3,kiffe:2.5,recommande*:2,\
plaisir:2,cool,réussi*:2,gentil*:2,adorable*:2.5,sublime*:3,hâte:2,vivement:2,superbe*:3,bien joué:2.5,victoire:2,gagn*:1.5,réussite:2,bonheur:3,joie:2.5,\
rire:1.5,mdr:1,belle journée:2,bonne journée:2,bonne chance:2,intéressant*:1.5,positif*:1.5,progrès:1.5,\
soutien:1.5,espoir:1.5,fier:2,fière:2,magique:2.5,bienvenue:2,succès:2,grâce à:1,belles:2,confiance:1.5,espérer:1,solidari*:1.5,chance:1.5",
        negative: "mauvais*:2.5,nul:3,nulle:3,nuls:3,horrible*:3,terrible*:2,affreu*:3,catastroph*:3,déçu*:2.5,\
decu*:2.5,décevant*:2.5,déception:2.5,énervé*:2.5,enerve*:2.5,énervant*:2.5,agaçant*:2,agacé*:2,fâché*:2,\
furieu*:3,colère:2.5,triste*:2,déteste*:3,haine:3,honte:3,honteu*:3,scandale*:3,scandaleu*:3,inadmissible*:3,\
inacceptable*:3,ridicule*:2.5,lamentable*:3,pénible*:2,chiant*:2.5,lent*:1,merde:3,putain:2,bordel:2,arnaque*:3,\
pire:3,pourri:3,pourrie:3,pourris:3,pourries:3,dégoût*:3,dégueulasse*:3,marre:2.5,ras le bol:3,galère*:2,insupportable*:3,malheureusement:1.5,\
inutile*:2.5,incompétent*:3,peur:2,mal:1.5,grave:1,dommage:1.5,débile*:2.5,con:2,connard*:3,honte à:3,victime*:2,menac*:1.5,crise:2,mort:1.5,morts:1.5,tué:2,tués:2,guerre:2,attentat*:2.5,pollution:1.5,\
polluant*:1.5,affligeant*:3,incompétence:3,perte:1.5,échec:2,faillite:2,corruption:2.5,inquiet*:2,inquiétant*:2,\
crade:2,abandon*:1.5,mensonge*:2,menteur*:2.5,magouille*:2.5,dommage:1.5,hélas:1.5,pauvre*:1,fou:1,folie:1.5",
        negators: "pas,ne,n',jamais,rien,aucun,aucune,sans,ni",
        intensifiers: "très:1.3,tres:1.3,trop:1.3,vraiment:1.3,tellement:1.4,vachement:1.4,extrêmement:1.5,\
complètement:1.3,totalement:1.3,absolument:1.4,hyper:1.4,super:1.3,assez:1.1,un peu:0.7,peu:0.7",
        contrast: "mais,cependant,pourtant",
        feature_request: "pourriez-vous ajouter:1.6,pourriez vous ajouter:1.6,pouvez-vous ajouter:1.6,pouvez vous ajouter:1.6,\
pourriez-vous:1,pouvez-vous mettre:1.3,ajoutez:1.3,merci d'ajouter:1.6,svp ajoutez:1.6,ajouter une option:1.6,\
ajouter la possibilité:1.6,ce serait bien:1.5,ce serait génial:1.5,ce serait top:1.5,ce serait super:1.5,\
ce serait cool:1.5,ce serait pratique:1.5,ça serait bien:1.5,ca serait bien:1.5,serait bien de:1.3,\
serait bien que:1.3,j'aimerais:1,j'aimerai:1,il faudrait:1.2,vous devriez:1.2,suggestion:1,possibilité de:1,\
option pour:1,pourquoi ne pas:1.2,pourquoi on ne peut pas:1,il manque:1,manque une:1,programmer:0.8",
        question: "comment faire,est-ce que:0.8,est-il possible,quelqu'un sait,comment puis-je,combien de temps:0.8,\
combien coûte:0.8,savez-vous",
        question_start: "que,quoi,quand,où,pourquoi,comment,qui,quel,quelle,quels,quelles,est-ce,peut-on,avez-vous,\
combien,y a-t-il,puis-je",
        problem: "ne marche pas:1.5,marche pas:1.5,ne marche plus:1.5,marche plus:1.5,ne fonctionne pas:1.5,\
fonctionne pas:1.5,fonctionne plus:1.5,cassé*:1.5,en panne:1.5,panne*:1.2,retard*:1.2,annulé*:1.2,\
remboursement*:1.2,rembourser:1.2,problème*:1,probleme*:1,erreur*:1,bug*:1,bugue:1.2,toujours pas:1.2,\
toujours rien:1.5,attends toujours:1.5,aucune réponse:1.5,pas de réponse:1.5,pas reçu:1.5,jamais reçu:1.5,\
manquant*:1,réclamation*:1.5,plainte*:1.5,impossible de:1.2,où est mon:1.2,où est ma:1.2,défectueu*:1.5",
        thanks: "merci:1.5,merci beaucoup:2,merci mille fois:2,mille mercis:2,bon travail:2,super service:2,\
service impeccable:2,vous êtes les meilleurs:2,continuez:1",
        urgent: "urgence:0.6,incendie:0.55,feu:0.45,fumée:0.45,blessé*:0.6,accident:0.5,police:0.4,dangereu*:0.55,\
piraté*:0.65,hacké:0.65,fraude:0.6,escroquerie:0.55,volé*:0.45,urgent*:0.4,au plus vite:0.35,immédiatement:0.35,\
tout de suite:0.3,aidez-moi:0.3,aidez moi:0.3,à l'aide:0.3,au secours:0.4,bloqué*:0.35,coincé*:0.35,\
pas accès:0.35,plus accès:0.35,impossible de me connecter:0.35,raté mon vol:0.4",
    },
    LangData {
        lang: Lang::Es,
        stopwords: "el,la,los,las,de,del,un,una,y,es,en,que,no,por,para,con,se,lo,le,les,me,mi,mis,su,sus,tu,te,yo,al,\
como,más,mas,pero,muy,ya,o,este,esta,esto,ese,esa,eso,hay,son,está,están,estoy,fue,ser,estar,hacer,tiene,tengo,\
todo,todos,nada,nunca,siempre,también,porque,cuando,donde,qué,cómo,cuándo,dónde,gracias,hola,hoy,aquí,sin,sobre,\
hasta,desde,vez,bien,ni,eres,soy,nos,ustedes,usted,he,ha,han,hemos,pues,así,si,sí,era,hace,otra,otro,puede,\
quiero,solo,sólo,ahora,mucho,cada,están,vamos,algo",
        positive: "bueno:2,buena:2,buenos:2,buenas:1,bien:1.5,genial*:3,excelente*:3,perfecto*:3,perfecta*:3,maravillos*:3,\
fantástic*:3,fantastic*:3,increíble*:2.5,increible*:2.5,estupend*:3,me encanta*:3,encanta:3,encantó:3,\
encantado*:2,amo:3,me gusta:2,gusta:1.5,gustó:2,feliz:2.5,felices:2.5,content*:2,alegr*:2,satisfech*:2,\
agradecid*:2,bonit*:2,lind*:2,hermos*:2.5,precios*:2.5,guap*:2,mejor:1.5,mejores:1.5,el mejor:3,rápid*:1,\
fácil:1,amable*:2,recomiend*:2,divertid*:2,chulo*:2,guay:2,bravo:2,enhorabuena:2.5,felicidades:2.5,éxito:2,\
top:2,ole:1.5,orgullo*:2,ilusión:2,disfrut*:2,espectacular*:3,brutal:2,ganar:1.5,ganamos:2,victoria:2,felicidad:3,alegría:2.5,jaja*:1,risa*:1.5,interesante*:1.5,\
esperanza:1.5,ánimo*:1.5,suerte:1.5,buen:1.5,apoyo:1,bienvenid*:2,encantador*:2,maravilla:3,fiesta:1.5,besos:2,\
besito*:2,abrazo*:2,orgullos*:2",
        negative: "malo*:2.5,mala:2.5,malas:2.5,mal:2,pésim*:3,pesim*:3,horrible*:3,terrible*:3,fatal:3,asco:3,\
asquero*:3,odio:3,odia*:3,triste*:2,tristeza:2,decepcion*:2.5,decepción:2.5,enfadad*:2.5,enojad*:2.5,\
cabread*:3,harto:2.5,harta:2.5,molest*:2,vergüenza:3,verguenza:3,vergonzos*:3,ridícul*:2.5,ridicul*:2.5,\
inaceptable*:3,lamentable*:3,indignante:3,indignad*:3,inútil*:2.5,inutil*:2.5,lent*:1,mierda:3,joder:2,\
puta:2,estafa*:3,robo:3,peor:3,peores:3,miedo:2,preocupad*:1.5,aburrid*:1.5,desastre*:3,culpa:1.5,\
lástima:1.5,lastima:1.5,desgraciadamente:1.5,lamentablemente:1.5,muerte:1.5,muerto*:1.5,irritante*:2.5,\
insoportable*:3,penoso*:3,cutre:2,basura:3,víctima*:2,victima*:2,amenaza*:1.5,crisis:2,muertos:2,asesin*:2.5,guerra:2,atentado*:2.5,\
contaminación:1.5,pérdida*:1.5,fracaso:2,corrupción:2.5,corrupto*:2.5,mentira*:2,mentiroso*:2.5,ladrón:2.5,\
ladrones:2.5,injusticia:2,dolor:2,llorar:2,lloro:2,enfermo*:1.5,desempleo:1.5,rabia:2.5,sufr*:2,grave:1.5,\
pobre*:1,crueldad:2.5,violencia:2",
        negators: "no,nunca,jamás,jamas,nada,ni,sin,tampoco,nadie,ningún,ninguna,ninguno",
        intensifiers: "muy:1.3,mucho:1.2,muchísimo:1.5,realmente:1.3,demasiado:1.3,totalmente:1.3,completamente:1.3,\
tan:1.2,bastante:1.2,sumamente:1.5,extremadamente:1.5,súper:1.3,super:1.3,un poco:0.7,algo:0.8",
        contrast: "pero,sin embargo,aunque",
        feature_request: "podrían agregar:1.6,podrian agregar:1.6,pueden agregar:1.6,podrían añadir:1.6,podrian añadir:1.6,\
pueden añadir:1.6,podrían poner:1.4,podrian poner:1.4,agreguen:1.4,añadan:1.4,por favor agreguen:1.6,\
por favor añadan:1.6,sería genial:1.5,seria genial:1.5,sería bueno:1.3,seria bueno:1.3,estaría bien:1.3,\
estaria bien:1.3,estaría genial:1.5,sería ideal:1.5,ojalá:1.1,ojala:1.1,deberían:1,deberian:1,\
me gustaría que:1.4,me gustaria que:1.4,sugerencia:1,sugiero:1.2,opción de:1,opción para:1,opcion de:1,\
posibilidad de:1,falta una:0.8,por qué no ponen:1.3,cuándo van a:0.8,podrían programar:1.6",
        question: "cómo puedo,como puedo,alguien sabe,es posible,se puede:0.6,cuánto tiempo:0.8,cuánto cuesta:0.8,saben si",
        question_start: "qué,cuándo,dónde,por qué,cómo,quién,cuál,cuánto,cuánta,hay,puedo,pueden,tienen,es",
        problem: "no funciona:1.5,no sirve:1.5,sigue sin funcionar:1.5,roto:1.2,rota:1.2,averiad*:1.5,avería:1.5,\
retraso*:1.2,retrasad*:1.2,cancelad*:1.2,reembolso*:1.2,devolución:1,problema*:1,error*:1,fallo*:1.2,falla:1.2,\
sigo esperando:1.5,todavía espero:1.5,sin respuesta:1.5,ninguna respuesta:1.5,no me llegó:1.5,no ha llegado:1.5,\
no he recibido:1.5,nunca llegó:1.5,reclamación:1.5,reclamo*:1.5,queja*:1.5,no puedo:0.8,no me deja:1.2,\
dónde está mi:1.2,donde esta mi:1.2,cobro doble:1.5,me cobraron:1.2",
        thanks: "gracias:1.5,muchas gracias:2,mil gracias:2,muchísimas gracias:2,buen trabajo:2,excelente servicio:2,\
gran servicio:2,son los mejores:2,sigan así:2",
        urgent: "emergencia:0.65,incendio:0.55,fuego:0.45,humo:0.45,herido*:0.6,accidente:0.5,policía:0.4,peligro*:0.55,\
hackeado*:0.65,hackearon:0.65,fraude:0.6,robado*:0.5,robaron:0.5,urgente*:0.4,lo antes posible:0.35,\
inmediatamente:0.35,ya mismo:0.3,ayuda:0.3,ayúdenme:0.35,atrapado*:0.4,varado*:0.45,bloqueado*:0.35,\
sin acceso:0.35,no puedo acceder:0.4,perdí mi vuelo:0.4,perdí el vuelo:0.4",
    },
    LangData {
        lang: Lang::Pt,
        stopwords: "o,a,os,as,de,do,da,dos,das,um,uma,e,é,em,no,na,nos,nas,que,não,nao,por,para,pra,com,se,me,mim,meu,\
minha,seu,sua,você,voce,vc,eu,ele,ela,nós,eles,elas,mais,mas,muito,muita,já,ou,este,esta,isso,isto,esse,essa,tem,\
têm,tenho,foi,ser,estar,está,estou,fazer,tudo,todos,nada,nunca,sempre,também,tambem,porque,quando,onde,como,\
obrigado,obrigada,olá,oi,hoje,aqui,sem,sobre,até,desde,vez,bem,nem,sou,são,ao,aos,à,pelo,pela,pelos,pelas,num,\
numa,ainda,então,entao,agora,quem,qual,né,vai,ter,tá,ta,q,pq,tô,to,vou,fica,ficar,aí,lá",
        positive: "bom:2,boa:2,bons:2,boas:1.5,ótim*:3,otim*:3,excelente*:3,perfeit*:3,maravilh*:3,fantástic*:3,\
incrível:2.5,incrivel:2.5,demais:2,amo:3,adoro:3,amei:3,adorei:3,gosto:1.5,gostei:2,feliz:2.5,felizes:2.5,\
content*:2,alegr*:2,satisfeit*:2,lind*:2.5,bonit*:2,legal:2,top:2,show:1.5,melhor:1.5,melhores:1.5,rápid*:1,\
fácil:1,recomend*:2,divertid*:2,parabéns:2.5,parabens:2.5,sucesso:2,beleza:1.5,gostos*:2,sensacional*:3,\
espetacular*:3,maneiro:2,orgulho*:2,amor:2,amando:3,feliz demais:3,vitória:2,ganhar:1.5,ganhamos:2,felicidade:3,alegria:2.5,kkk*:1,rsrs*:1,interessante*:1.5,\
esperança:1.5,sorte:1.5,boa sorte:2,apoio:1,bem-vindo*:2,beijo*:2,abraço*:2,festa:1.5,maravilha:3",
        negative: "ruim:2.5,péssim*:3,pessim*:3,horrível:3,horrivel:3,terrível:3,terrivel:3,odeio:3,ódio:3,odio:3,\
triste*:2,tristeza:2,decepcion*:2.5,decepção:2.5,decepcao:2.5,raiva:2.5,irritad*:2.5,chatead*:2,chato*:2,\
chata*:2,vergonha:3,ridícul*:2.5,ridicul*:2.5,absurdo*:3,inaceitável:3,inaceitavel:3,lamentável:3,lamentavel:3,\
inútil:2.5,inutil:2.5,lent*:1,merda:3,porra:2,caralho:2,bosta:3,droga:2,pior:3,piores:3,medo:2,preocupad*:1.5,\
desastre*:3,infelizmente:1.5,lixo:3,nojo*:3,mal:1.5,sofr*:2,cansad*:1.5,morte:1.5,morreu:1.5,saco:2,affs:2,\
aff:2,puta:2,triste demais:3,vítima*:2,vitima*:2,ameaça*:1.5,crise:2,mortos:2,assassin*:2.5,guerra:2,atentado*:2.5,\
poluição:1.5,perda*:1.5,fracasso:2,corrupção:2.5,corrupto*:2.5,mentira*:2,mentiroso*:2.5,ladrão:2.5,ladrões:2.5,\
roubo:2.5,injustiça:2,dor:2,chorar:2,chorando:2,doente:1.5,desemprego:1.5,grave:1.5,pobre*:1,violência:2",
        negators: "não,nao,nunca,jamais,nada,nem,sem,ninguém,ninguem,nenhum,nenhuma",
        intensifiers: "muito:1.3,muita:1.3,muitíssimo:1.5,realmente:1.3,totalmente:1.3,completamente:1.3,tão:1.2,tao:1.2,\
bastante:1.2,extremamente:1.5,mega:1.4,super:1.3,um pouco:0.7,meio:0.8",
        contrast: "mas,porém,porem,entretanto",
        feature_request: "poderiam adicionar:1.6,podem adicionar:1.6,poderiam colocar:1.4,podem colocar:1.4,adicionem:1.4,\
coloquem:1.3,por favor adicionem:1.6,por favor coloquem:1.6,seria ótimo:1.5,seria otimo:1.5,seria bom:1.3,\
seria legal:1.5,seria incrível:1.5,seria top:1.5,gostaria que:1.3,gostaria de ter:1.3,deveriam:1,\
vocês deveriam:1.2,sugestão:1,sugestao:1,sugiro:1.2,tomara que:1,opção de:1,opcao de:1,possibilidade de:1,\
falta um:0.8,falta uma:0.8,quando vão:0.8,poderiam programar:1.6",
        question: "como faço,como faco,alguém sabe,alguem sabe,é possível,tem como:0.8,quanto tempo:0.8,quanto custa:0.8",
        question_start: "o que,quando,onde,por que,porque,como,quem,qual,quanto,quanta,cadê,tem,vocês,posso,pode,é",
        problem: "não funciona:1.5,nao funciona:1.5,parou de funcionar:1.5,quebrad*:1.5,estragad*:1.5,defeito*:1.5,\
atraso*:1.2,atrasad*:1.2,cancelad*:1.2,reembolso*:1.2,estorno:1.2,problema*:1,erro*:1,falha*:1.2,bug*:1,\
ainda esperando:1.5,continuo esperando:1.5,sem resposta:1.5,nenhuma resposta:1.5,não recebi:1.5,nao recebi:1.5,\
nunca chegou:1.5,não chegou:1.5,nao chegou:1.5,reclamação:1.5,reclamacao:1.5,reclamar:1.2,não consigo:1,\
nao consigo:1,cadê:1,cade:1,onde está meu:1.2,cobrança:0.8,cobraram:1.2",
        thanks: "obrigado:1.5,obrigada:1.5,muito obrigado:2,muito obrigada:2,valeu:1.5,brigado:1.5,brigada:1.5,\
ótimo atendimento:2,otimo atendimento:2,excelente atendimento:2,vocês são os melhores:2,bom trabalho:2",
        urgent: "emergência:0.65,emergencia:0.65,incêndio:0.55,incendio:0.55,fogo:0.45,fumaça:0.45,ferido*:0.6,\
acidente:0.5,polícia:0.4,policia:0.4,perigo*:0.55,hackeado*:0.65,hackearam:0.65,fraude:0.6,roubado*:0.5,\
roubaram:0.5,urgente*:0.4,o mais rápido possível:0.35,imediatamente:0.35,agora mesmo:0.3,socorro:0.4,ajuda:0.3,\
me ajudem:0.35,bloqueado*:0.35,bloquearam:0.35,sem acesso:0.35,não consigo acessar:0.4,nao consigo acessar:0.4,\
perdi o voo:0.4,perdi meu voo:0.4",
    },
    LangData {
        lang: Lang::It,
        stopwords: "il,lo,la,i,gli,le,di,del,della,dei,delle,un,uno,una,e,è,in,che,non,per,con,si,mi,ti,ci,vi,mio,mia,\
suo,sua,tuo,tua,io,tu,lui,lei,noi,voi,loro,più,ma,molto,già,o,questo,questa,quello,quella,ha,hanno,ho,hai,\
abbiamo,sono,sei,siamo,era,essere,avere,fare,fatto,tutto,tutti,niente,nulla,mai,sempre,anche,perché,perche,\
quando,dove,come,grazie,ciao,oggi,qui,senza,sopra,fino,da,dal,dalla,al,alla,allo,ai,agli,alle,nel,nella,nei,\
sul,sulla,cosa,ancora,ora,adesso,chi,quale,c'è,così,solo,se,dopo,poi,nn,ke,cè,dell',all',sull',nell',l',un',della,degli",
        positive: "buono,buona,buoni,buone,buon:1.5,bene:1.5,benissimo:3,bello:2,bella:2,belli:2,belle:2,bellissim*:3,\
ottim*:3,eccellent*:3,perfett*:3,meraviglios*:3,fantastic*:3,stupend*:3,splendid*:3,magnific*:3,incredibil*:2.5,\
fenomenal*:3,adoro:3,amo:3,mi piace:2,piace:1.5,felice:2.5,felici:2.5,content*:2,soddisfatt*:2,gentil*:2,\
cortes*:2,simpatic*:2,veloce:1,facile:1,consigliat*:2,complimenti:3,bravi:2.5,bravo:2.5,brava:2.5,top:2,\
evviva:2,migliore:2,migliori:2,meglio:1.5,divertent*:2,spettacolar*:3,geniale:3,favolos*:3,grande:1,\
orgoglio*:2,emozion*:1.5,amore:2,speriamo:1,auguri:2,vittoria:2,vincere:1.5,vinto:2,felicità:3,gioia:2.5,ahah*:1,interessant*:1.5,speranza:1.5,\
fortuna:1.5,in bocca al lupo:2,benvenut*:2,sorriso:2,bacio:2,baci:2,forza:1.5,festa:1.5,abbracci*:2,buona giornata:2,\
buonanotte:1.5,buongiorno:1",
        negative: "male:2,cattiv*:2.5,pessim*:3,orribil*:3,terribil*:3,schifo*:3,odio:3,odia*:3,triste*:2,tristezza:2,\
delus*:2.5,deludent*:2.5,delusione:2.5,arrabbiat*:2.5,incazzat*:3,furios*:3,fastidi*:2,irritant*:2.5,\
vergogn*:3,ridicol*:2.5,inaccettabil*:3,assurd*:2.5,scandal*:3,inutil*:2.5,lent*:1,merda:3,cazzo:2,\
schifezza:3,truffa*:3,ladri:3,peggio:3,peggior*:3,paura:2,preoccupat*:1.5,noios*:1.5,disastro*:3,\
purtroppo:1.5,sfortunatamente:1.5,dispiace:1.5,orrend*:3,squallid*:3,pazzesco:1,stanco:1.5,stufo:2.5,\
vergognoso:3,pietà:2,imbarazz*:2,incompetent*:3,vittim*:2,minacci*:1.5,crisi:2,morte:1.5,morti:2,uccis*:2.5,guerra:2,attentat*:2.5,\
inquinamento:1.5,perdita:1.5,fallimento:2,corruzione:2.5,corrott*:2.5,bugia:2,bugie:2,bugiard*:2.5,ladro:2.5,\
ingiustizia:2,dolore:2,piangere:2,malat*:1.5,disoccupazione:1.5,grave:1.5,peccato:1.5,mah:1,basta:1.5,\
povero:1,poveri:1,violenza:2,odiare:3,brutt*:2.5,cazzat*:3,pericolos*:2,falso:1.5,falsi:1.5,roba da matti:2.5,sbagli*:1.5,sfigat*:2.5,schifos*:3",
        negators: "non,mai,niente,nulla,nessun*,senza,né,neanche,nemmeno,neppure,nn",
        intensifiers: "molto:1.3,davvero:1.3,veramente:1.3,proprio:1.2,troppo:1.3,tanto:1.2,tantissimo:1.5,così:1.2,\
cosi:1.2,assolutamente:1.4,completamente:1.3,totalmente:1.3,estremamente:1.5,particolarmente:1.3,parecchio:1.2,\
super:1.3,un po':0.7,poco:0.7",
        contrast: "ma,però,pero,tuttavia",
        feature_request: "potreste aggiungere:1.6,potete aggiungere:1.6,potreste mettere:1.4,potete mettere:1.4,\
potreste inserire:1.6,aggiungete:1.4,per favore aggiungete:1.6,inserite:1.2,sarebbe bello:1.5,\
sarebbe bellissimo:1.5,sarebbe utile:1.5,sarebbe fantastico:1.5,sarebbe ottimo:1.5,sarebbe carino:1.5,\
sarebbe comodo:1.5,sarebbe top:1.5,vorrei che:1.2,vorrei poter:1.3,dovreste:1,suggerimento:1,suggerisco:1.2,\
propongo:1,possibilità di:1,opzione per:1,manca la:0.8,manca il:0.8,manca un:0.8,magari aggiungere:1.5,\
perché non mettete:1.3,potreste programmare:1.6",
        question: "come faccio,qualcuno sa,è possibile,si può:0.6,quanto tempo:0.8,quanto costa:0.8,sapete se",
        question_start: "che cosa,cosa,quando,dove,perché,perche,come,chi,quale,quanto,quanti,posso,potete,avete,c'è",
        problem: "non funziona:1.5,non va:1.2,non funziona più:1.5,rotto:1.5,rotta:1.5,guast*:1.5,difettos*:1.5,\
ritard*:1.2,in ritardo:1.2,cancellat*:1.2,annullat*:1.2,soppress*:1.2,rimborso:1.2,rimborsi:1.2,problema:1,\
problemi:1,errore:1,errori:1,disservizio:1.5,disservizi:1.5,ancora aspetto:1.5,sto ancora aspettando:1.5,\
aspetto ancora:1.5,nessuna risposta:1.5,non ho ricevuto:1.5,mai ricevuto:1.5,non è arrivato:1.5,\
mai arrivato:1.5,reclamo:1.5,reclami:1.5,non riesco:1,dov'è il mio:1.2,addebitat*:1,bloccat*:0.8",
        thanks: "grazie:1.5,grazie mille:2,grazie infinite:2,mille grazie:2,ottimo lavoro:2,ottimo servizio:2,\
bel lavoro:2,siete i migliori:2,bravissimi:2.5,continuate così:2",
        urgent: "emergenza:0.65,incendio:0.55,fuoco:0.45,fumo:0.45,ferit*:0.6,incidente:0.5,polizia:0.4,pericol*:0.55,\
hackerat*:0.65,frode:0.6,rubat*:0.5,urgente*:0.4,al più presto:0.35,immediatamente:0.35,subito:0.3,aiuto:0.3,\
aiutatemi:0.35,bloccato in:0.4,non riesco ad accedere:0.4,senza accesso:0.35,perso il volo:0.4",
    },
];
