//! Vocabulary shared by instructions, events, people and policy.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// IPC skill level a procedure demands; ordered so `>=` means "skilled enough".
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[serde(rename_all = "lowercase")]
pub enum SkillLevel {
    Intermediate,
    Advanced,
    Expert,
}

impl fmt::Display for SkillLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkillLevel::Intermediate => "Intermediate",
            SkillLevel::Advanced => "Advanced",
            SkillLevel::Expert => "Expert",
        })
    }
}

/// How closely a procedure reproduces the original (IPC-7711/7721 conformance level).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Conformance {
    High,
    Medium,
    Low,
}

impl fmt::Display for Conformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conformance::High => "High",
            Conformance::Medium => "Medium",
            Conformance::Low => "Low",
        })
    }
}

/// Rework restores conformance, repair restores function (needs approval),
/// modification changes the design (needs an engineering change order).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    Rework,
    Repair,
    Modification,
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activity::Rework => "rework",
            Activity::Repair => "repair",
            Activity::Modification => "modification",
        })
    }
}

/// IPC product class 1, 2 or 3; written as a bare number in files.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[serde(try_from = "u8", into = "u8")]
pub enum ProductClass {
    Class1,
    Class2,
    Class3,
}

impl ProductClass {
    pub const ALL: [ProductClass; 3] = [
        ProductClass::Class1,
        ProductClass::Class2,
        ProductClass::Class3,
    ];

    pub fn number(self) -> u8 {
        match self {
            ProductClass::Class1 => 1,
            ProductClass::Class2 => 2,
            ProductClass::Class3 => 3,
        }
    }
}

impl TryFrom<u8> for ProductClass {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        match n {
            1 => Ok(ProductClass::Class1),
            2 => Ok(ProductClass::Class2),
            3 => Ok(ProductClass::Class3),
            other => Err(format!("product class must be 1, 2 or 3, not {other}")),
        }
    }
}

impl From<ProductClass> for u8 {
    fn from(c: ProductClass) -> u8 {
        c.number()
    }
}

impl fmt::Display for ProductClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Class {}", self.number())
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Technician,
    Inspector,
    Supervisor,
    Admin,
    /// Releases work instructions for use at the bench (controlled documents).
    Engineer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Technician => "technician",
            Role::Inspector => "inspector",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Engineer => "engineer",
        })
    }
}

/// IPC-7711/7721 certification: Specialist, Standards Expert, Trainer.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum CertLevel {
    CIS,
    CSE,
    CIT,
}

impl fmt::Display for CertLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Certification {
    pub level: CertLevel,
    /// Training modules 1–10 the certificate covers.
    pub modules: Vec<u8>,
    pub certificate: String,
    pub issued: NaiveDate,
    pub expires: NaiveDate,
}

impl Certification {
    /// Valid on `day` when issued on or before it and not yet expired.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.issued <= day && day < self.expires
    }
}

/// What a signature means; shown with the printed name and time wherever it appears.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Meaning {
    Performed,
    Inspected,
    Reviewed,
    Approved,
}

impl fmt::Display for Meaning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Meaning::Performed => "performed",
            Meaning::Inspected => "inspected",
            Meaning::Reviewed => "reviewed",
            Meaning::Approved => "approved",
        })
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "lowercase")]
pub enum CheckResult {
    Confirmed,
    Pass,
    Fail,
}

impl CheckResult {
    pub fn is_failure(self) -> bool {
        self == CheckResult::Fail
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    Rejected,
}

/// Parsing from the words used in files and on the command line.
macro_rules! parse_words {
    ($t:ty, $what:literal, $($word:literal => $v:expr),+ $(,)?) => {
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($word => Ok($v),)+
                    other => Err(format!(
                        concat!("{:?} is not a ", $what, " (expected one of: {})"),
                        other,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }
    };
}

parse_words!(Role, "role",
    "technician" => Role::Technician,
    "inspector" => Role::Inspector,
    "supervisor" => Role::Supervisor,
    "admin" => Role::Admin,
    "engineer" => Role::Engineer,
);
parse_words!(SkillLevel, "skill level",
    "intermediate" => SkillLevel::Intermediate,
    "advanced" => SkillLevel::Advanced,
    "expert" => SkillLevel::Expert,
);
parse_words!(CertLevel, "certification level",
    "cis" => CertLevel::CIS,
    "cse" => CertLevel::CSE,
    "cit" => CertLevel::CIT,
);

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn words_parse_case_insensitively_and_refuse_others() {
        assert_eq!("Expert".parse::<SkillLevel>(), Ok(SkillLevel::Expert));
        assert_eq!("cse".parse::<CertLevel>(), Ok(CertLevel::CSE));
        assert_eq!(" inspector".parse::<Role>(), Ok(Role::Inspector));
        let e = "boss".parse::<Role>().unwrap_err();
        assert!(
            e.contains("technician, inspector, supervisor, admin"),
            "{e}"
        );
    }
}
